/**
 * Outbound calling compliance, for the operator (the security promises' "TCPA
 * Compliance"; the rules are in src/compliance/outbound-policy.ts):
 *
 *   smartalex dnc add <phone> --tenant T [--reason R]       do-not-call list
 *   smartalex dnc remove <phone> --tenant T
 *   smartalex dnc list --tenant T [--json]
 *   smartalex consent grant <phone> --tenant T --source S [--kind K]   prior consent (kind 'outbound-call')
 *   smartalex consent revoke <phone> --tenant T [--kind K]
 *   smartalex consent list --tenant T [--all] [--json]
 *   smartalex tenant calling-hours --tenant T [--timezone Z] [--start HH:MM] [--end HH:MM]
 *                                  [--days mon-fri,sat] [--require-consent true|false] [--json]
 *
 * Numbers are normalised before they are stored, one without + read in the
 * tenant's default country ("(555) 123-4567" is +15551234567 for a US tenant,
 * "020 7946 0000" is +442079460000 for a GB one). The list commands print whole numbers (this is the operator's
 * own tool); nothing here logs a number, and the audit log gets them masked.
 * Mistakes end with one line on stderr and exit 1.
 */
import type { Command } from 'commander';
import {
  addToDoNotCall, describeDays, grantConsent, listConsents, listDoNotCall, parseDays, removeFromDoNotCall, revokeConsent, setCallingPolicy, widerThanTcpa,
} from '../compliance/index.ts';
import { OPERATOR, tenantOption, type OperatorContext } from './operator.ts';

function booleanOption(value: string): boolean {
  const v = value.trim().toLowerCase();
  if (['true', 'yes', 'on', '1'].includes(v)) return true;
  if (['false', 'no', 'off', '0'].includes(v)) return false;
  throw new Error(`--require-consent must be true or false, got "${value}"`);
}

export function registerComplianceCommands(program: Command, ctx: OperatorContext): void {
  const print = (line: string): void => void ctx.io.stdout.write(`${line}\n`);
  const dnc = program.command('dnc').description('the tenant\'s do-not-call list (outbound calls to these numbers are refused)');
  dnc
    .command('add <phone>')
    .description('add a number to the do-not-call list')
    .requiredOption('--tenant <id>', 'tenant id', tenantOption)
    .option('--reason <text>', 'why (e.g. "asked on call", "national DNC registry")')
    .action(async (phone: string, opts: { tenant: string; reason?: string }) => {
      await ctx.withDb(async (db) => {
        const result = await addToDoNotCall(db, opts.tenant, phone, { reason: opts.reason, actor: OPERATOR });
        print(result.added ? `${result.phone} added to the do-not-call list` : `${result.phone} is already on the do-not-call list`);
      });
    });
  dnc
    .command('remove <phone>')
    .description('take a number off the do-not-call list')
    .requiredOption('--tenant <id>', 'tenant id', tenantOption)
    .action(async (phone: string, opts: { tenant: string }) => {
      await ctx.withDb(async (db) => {
        const result = await removeFromDoNotCall(db, opts.tenant, phone, { actor: OPERATOR });
        if (!result.removed) throw new Error('that number is not on the tenant\'s do-not-call list');
        print(`${result.phone} removed from the do-not-call list`);
      });
    });
  dnc
    .command('list')
    .description('the do-not-call list, oldest first')
    .requiredOption('--tenant <id>', 'tenant id', tenantOption)
    .option('--json', 'print JSON')
    .action(async (opts: { tenant: string; json?: boolean }) => {
      await ctx.withDb(async (db) => {
        const list = await listDoNotCall(db, opts.tenant);
        if (opts.json) print(JSON.stringify(list.map((e) => ({ phone: e.phone, reason: e.reason, addedAt: e.createdAt.toISOString() }))));
        else if (list.length === 0) print('the do-not-call list is empty');
        else for (const e of list) print(`${e.phone}\t${e.createdAt.toISOString()}${e.reason ? `\t${e.reason}` : ''}`);
      });
    });

  const consent = program.command('consent').description('prior consent for outbound calls (required by default)');
  consent
    .command('grant <phone>')
    .description('record that the number\'s owner agreed to be called')
    .requiredOption('--tenant <id>', 'tenant id', tenantOption)
    .requiredOption('--source <text>', 'where the consent came from (web form, recorded call, signed paper...)')
    .option('--kind <kind>', 'what was consented to (only outbound-call permits calls)', 'outbound-call')
    .action(async (phone: string, opts: { tenant: string; source: string; kind: string }) => {
      await ctx.withDb(async (db) => {
        const result = await grantConsent(db, opts.tenant, phone, { source: opts.source, kind: opts.kind, actor: OPERATOR });
        print(result.added
          ? `${result.phone}: ${opts.kind} consent recorded`
          : `${result.phone}: ${opts.kind} consent already recorded on ${result.row.grantedAt.toISOString()}`);
      });
    });
  consent
    .command('revoke <phone>')
    .description('record that consent was withdrawn (the record is kept)')
    .requiredOption('--tenant <id>', 'tenant id', tenantOption)
    .option('--kind <kind>', 'which consent', 'outbound-call')
    .action(async (phone: string, opts: { tenant: string; kind: string }) => {
      await ctx.withDb(async (db) => {
        const result = await revokeConsent(db, opts.tenant, phone, { kind: opts.kind, actor: OPERATOR });
        if (result.revoked === 0) throw new Error(`that number has no ${opts.kind} consent to revoke`);
        print(`${result.phone}: ${opts.kind} consent revoked`);
      });
    });
  consent
    .command('list')
    .description('consents in force, newest first (--all: revoked ones too)')
    .requiredOption('--tenant <id>', 'tenant id', tenantOption)
    .option('--all', 'include revoked consents')
    .option('--json', 'print JSON')
    .action(async (opts: { tenant: string; all?: boolean; json?: boolean }) => {
      await ctx.withDb(async (db) => {
        const list = await listConsents(db, opts.tenant, { includeRevoked: Boolean(opts.all) });
        const view = list.map((c) => ({
          phone: c.phone, kind: c.kind, source: c.source, grantedAt: c.grantedAt.toISOString(), revokedAt: c.revokedAt ? c.revokedAt.toISOString() : null,
        }));
        if (opts.json) print(JSON.stringify(view));
        else if (view.length === 0) print(opts.all ? 'no consents recorded' : 'no consents in force');
        else for (const c of view) print(`${c.phone}\t${c.kind}\t${c.grantedAt}${c.revokedAt ? `\trevoked ${c.revokedAt}` : ''}${c.source ? `\t${c.source}` : ''}`);
      });
    });

  const tenant = program.commands.find((c) => c.name() === 'tenant') ?? program.command('tenant').description('manage tenants');
  tenant
    .command('calling-hours')
    .description('show or set the tenant\'s outbound calling policy (hours in its time zone, days, consent); prints the result')
    .requiredOption('--tenant <id>', 'tenant id', tenantOption)
    .option('--timezone <zone>', 'IANA time zone the hours are read in, e.g. America/New_York')
    .option('--start <HH:MM>', 'first minute calls are allowed (inclusive)')
    .option('--end <HH:MM>', 'when calls stop (exclusive; 24:00 = midnight)')
    .option('--days <days>', 'allowed days: mon,tue,... ranges (mon-fri), all, weekdays, weekends')
    .option('--require-consent <bool>', 'require recorded prior consent (true or false)', booleanOption)
    .option('--json', 'print JSON')
    .action(async (opts: { tenant: string; timezone?: string; start?: string; end?: string; days?: string; requireConsent?: boolean; json?: boolean }) => {
      const days = opts.days === undefined ? undefined : parseDays(opts.days);
      await ctx.withDb(async (db) => {
        const policy = await setCallingPolicy(db, opts.tenant, {
          timezone: opts.timezone, windowStart: opts.start, windowEnd: opts.end, days, requireConsent: opts.requireConsent,
        }, { actor: OPERATOR });
        if (opts.json) {
          print(JSON.stringify({ timezone: policy.timezone, start: policy.windowStart, end: policy.windowEnd, days: policy.days, requireConsent: policy.requireConsent }));
          return;
        }
        print(`calls allowed ${policy.windowStart}-${policy.windowEnd} ${policy.timezone}, ${describeDays(policy.days)}; prior consent ${policy.requireConsent ? 'required' : 'not required'}`);
        if (widerThanTcpa(policy)) print('note: this window reaches outside the TCPA\'s 8 a.m. to 9 p.m. (the called party\'s local time)');
      });
    });
}
