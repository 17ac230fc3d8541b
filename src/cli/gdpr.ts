/**
 * GDPR for one data subject, for the operator (src/gdpr):
 *
 *   smartalex gdpr export --tenant T (--phone P | --contact ID) --out FILE.zip
 *   smartalex gdpr erase  --tenant T (--phone P | --contact ID) --yes
 *
 * Export writes a new ZIP (never overwrites) and prints the manifest's counts;
 * erase deletes the subject's contacts, calls, transcripts, recordings and
 * consents, keeps the do-not-call entry, and needs --yes. Both are audited;
 * nothing here prints or logs the number.
 */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { eraseDataSubject, exportDataSubject } from '../gdpr/index.ts';
import { OPERATOR, tenantOption, type OperatorContext } from './operator.ts';

interface SubjectOptions { tenant: string; phone?: string; contact?: string }

export function registerGdprCommands(program: Command, ctx: OperatorContext): void {
  const print = (line: string): void => void ctx.io.stdout.write(`${line}\n`);
  const gdpr = program.command('gdpr').description('a data subject\'s data: export (access, portability) and erasure');
  gdpr
    .command('export')
    .description('write everything about one person to a ZIP (JSON, CSV, redacted transcripts, WAV recordings, SHA-256 manifest)')
    .requiredOption('--tenant <id>', 'tenant id', tenantOption)
    .option('--phone <number>', 'the person\'s phone number')
    .option('--contact <id>', 'the person\'s contact id')
    .requiredOption('--out <file>', 'the ZIP to create (must not exist)')
    .action(async (opts: SubjectOptions & { out: string }) => {
      await ctx.withDb(async (db, config) => {
        const { vault } = await ctx.vault(db, config);
        const out = resolve(ctx.io.cwd, opts.out);
        const manifest = await exportDataSubject(db, vault, opts.tenant, { phone: opts.phone, contactId: opts.contact }, out, { actor: OPERATOR });
        print(`exported to ${out}: ${Object.entries(manifest.counts).map(([k, v]) => `${v} ${k}`).join(', ')}`);
        if (manifest.recordingsUnavailable.length) print(`${manifest.recordingsUnavailable.length} recording(s) could not be decrypted (listed in manifest.json)`);
      });
    });
  gdpr
    .command('erase')
    .description('delete everything about one person (the do-not-call entry is kept: it is the record that says not to call)')
    .requiredOption('--tenant <id>', 'tenant id', tenantOption)
    .option('--phone <number>', 'the person\'s phone number')
    .option('--contact <id>', 'the person\'s contact id')
    .option('--yes', 'confirm the erasure (it cannot be undone)')
    .action(async (opts: SubjectOptions & { yes?: boolean }) => {
      if (!opts.yes) throw new Error('erasure cannot be undone: add --yes to confirm');
      await ctx.withDb(async (db, config) => {
        const { store } = await ctx.vault(db, config);
        const r = await eraseDataSubject(db, store, opts.tenant, { phone: opts.phone, contactId: opts.contact }, { actor: OPERATOR });
        print(`erased: ${r.contacts} contact(s), ${r.calls} call(s), ${r.recordings} recording(s), ${r.consents} consent(s); do-not-call entries kept: ${r.doNotCallKept}`);
      });
    });
}
