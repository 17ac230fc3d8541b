/**
 * Operator commands: migrate, tenants, agents, numbers. Secrets (an API key, a
 * digest password) are printed once or read from standard input, never logged.
 */
import type { Command } from 'commander';
import { parseDigestAlgorithms } from '../../media/sip/index.ts';
import {
  audit, createTenant, getAgent, issueApiKey, listAgents, listNumbers, type AgentMode,
} from '../../storage/index.ts';
import { createAgent } from '../resources/agents.ts';
import { MAX_CONCURRENT_CALLS_SETTING, setTenantCallLimit } from '../resources/tenant.ts';
import { canonicalCidrs, createNumber, digestCredentials, NUMBER_PATTERN, type DigestCredentials } from '../resources/numbers.ts';
import { OPERATOR, readSecretLine, tenantOption, type OperatorContext } from './operator.ts';

/**
 * The `--allow` entries in canonical form (a bare address is one host), read by the one strict
 * parser; a whole-family entry (0.0.0.0/0, ::/0) needs `--allow-any`, and `--allow-any` needs one.
 */
export function allowedCidrsOption(entries: readonly string[], allowAny: boolean): string[] {
  return canonicalCidrs(entries, allowAny, { list: '--allow', confirm: '--allow-any' });
}

const collect = (value: string, previous: string[]): string[] => [...previous, value];

/** `--max-concurrent-calls`: a whole number from 1 to MAX_CONCURRENT_CALLS_SETTING. */
function callLimitOption(value: string): number {
  const n = /^\d+$/.test(value) ? Number(value) : NaN;
  if (!Number.isInteger(n) || n < 1 || n > MAX_CONCURRENT_CALLS_SETTING) throw new Error(`--max-concurrent-calls must be a whole number from 1 to ${MAX_CONCURRENT_CALLS_SETTING}, got "${value}"`);
  return n;
}

const CALL_LIMIT_HELP = 'the tenant\'s concurrent calls at most (default 20), across the cluster; SMARTALEX_MAX_CALLS_PER_TENANT caps it on every node';

export function registerAdminCommands(program: Command, ctx: OperatorContext): void {
  const { io } = ctx;
  program
    .command('migrate')
    .description('apply the checked-in database migrations (idempotent)')
    .action(async () => {
      await ctx.withDb(async (db) => {
        io.stdout.write(`migrations applied (${db.kind})\n`);
      });
    });

  const tenant = program.command('tenant').description('manage tenants');
  tenant
    .command('create')
    .description('create a tenant; prints its id and, once, an owner API key')
    .requiredOption('--name <name>', 'tenant name')
    .option('--plan <plan>', 'professional (30-day retention), dental (90) or real-estate (365)', 'professional')
    .option('--max-concurrent-calls <n>', CALL_LIMIT_HELP, callLimitOption)
    .option('--json', 'print JSON')
    .action(async (opts: { name: string; plan: string; maxConcurrentCalls?: number; json?: boolean }) => {
      await ctx.withDb(async (db) => {
        const row = await createTenant(db, { name: opts.name, plan: opts.plan, ...(opts.maxConcurrentCalls !== undefined ? { maxConcurrentCalls: opts.maxConcurrentCalls } : {}) });
        const key = await issueApiKey(db, row.id, { name: 'owner', role: 'owner' });
        await audit(db, row.id, { actor: OPERATOR, action: 'tenant.created', target: row.id });
        if (opts.json) io.stdout.write(JSON.stringify({ tenantId: row.id, apiKey: key.key }) + '\n');
        else io.stdout.write(`tenant ${row.id}\nowner API key (shown once, store it now): ${key.key}\n`);
      });
    });

  tenant
    .command('update')
    .description('change a tenant\'s operator settings; prints the result (audited as tenant.updated)')
    .requiredOption('--tenant <id>', 'tenant id', tenantOption)
    .requiredOption('--max-concurrent-calls <n>', CALL_LIMIT_HELP.replace(' (default 20)', ''), callLimitOption)
    .option('--json', 'print JSON')
    .action(async (opts: { tenant: string; maxConcurrentCalls: number; json?: boolean }) => {
      await ctx.withDb(async (db) => {
        const row = await setTenantCallLimit(db, opts.tenant, opts.maxConcurrentCalls, { actor: OPERATOR });
        io.stdout.write(opts.json
          ? JSON.stringify({ tenantId: row.id, maxConcurrentCalls: row.maxConcurrentCalls }) + '\n'
          : `tenant ${row.id}: at most ${row.maxConcurrentCalls} concurrent calls\n`);
      });
    });

  const agent = program.command('agent').description('manage agents');
  agent
    .command('create')
    .requiredOption('--tenant <id>', 'tenant id', tenantOption)
    .requiredOption('--name <name>', 'agent name')
    .option('--mode <mode>', 'conversation, echo or greeting', 'conversation')
    .option('--greeting <text>', 'greeting (the AI disclosure is always spoken before it)', '')
    .option('--prompt <text>', 'system prompt', '')
    .option('--voice <voice>', 'TTS voice', 'default')
    .option('--no-recording', 'do not record this agent\'s calls')
    .option('--retention-days <days>', 'recording retention for this agent (overrides the tenant plan)')
    .option('--transfer-to <uri>', 'where transfer_call sends the caller (SIP URI or number)')
    .option('--json', 'print JSON')
    .action(async (opts: { tenant: string; name: string; mode: string; greeting: string; prompt: string; voice: string; recording: boolean; retentionDays?: string; transferTo?: string; json?: boolean }) => {
      if (!['conversation', 'echo', 'greeting'].includes(opts.mode)) throw new Error('--mode must be conversation, echo or greeting');
      const retentionDays = opts.retentionDays === undefined ? null : Number(opts.retentionDays);
      if (retentionDays !== null && (!Number.isInteger(retentionDays) || retentionDays < 1)) throw new Error('--retention-days must be a positive whole number of days');
      await ctx.withDb(async (db) => {
        const row = await createAgent(db, opts.tenant, {
          name: opts.name, mode: opts.mode as AgentMode, greeting: opts.greeting, prompt: opts.prompt, voice: opts.voice,
          recordingEnabled: opts.recording, retentionDays, transferTarget: opts.transferTo ?? null,
        }, { actor: OPERATOR });
        io.stdout.write(opts.json ? JSON.stringify({ agentId: row.id, name: row.name }) + '\n' : `agent ${row.id} (${row.name})\n`);
      });
    });
  agent
    .command('list')
    .requiredOption('--tenant <id>', 'tenant id', tenantOption)
    .option('--json', 'print JSON')
    .action(async (opts: { tenant: string; json?: boolean }) => {
      await ctx.withDb(async (db) => {
        const list = await listAgents(db, opts.tenant);
        if (opts.json) io.stdout.write(JSON.stringify(list.map((a) => ({ id: a.id, name: a.name, mode: a.mode, recording: a.recordingEnabled }))) + '\n');
        else for (const a of list) io.stdout.write(`${a.id}  ${a.name}  ${a.mode}${a.recordingEnabled ? '  recording' : ''}\n`);
      });
    });

  const number = program.command('number').description('manage called numbers');
  number
    .command('add')
    .description('route a called number or extension to an agent')
    .requiredOption('--tenant <id>', 'tenant id', tenantOption)
    .requiredOption('--number <number>', 'called number or extension (Request-URI user part)')
    .requiredOption('--agent <agent>', 'agent name or id')
    .option('--allow <cidr>', 'carrier source address or CIDR allowed to call without digest (repeatable)', collect, [])
    .option('--allow-any', 'confirm an --allow 0.0.0.0/0 or ::/0 entry (every source of that family, no digest)')
    .option('--digest-user <name>', 'require or accept SIP digest auth with this username')
    .option('--digest-password-stdin', 'read the digest password from standard input')
    .option('--digest-realm <realm>', 'digest realm', 'smartalex')
    .option('--digest-algorithms <list>', 'digest algorithms offered, in order, and the only ones accepted, e.g. SHA-256 (default: SMARTALEX_SIP_DIGEST_ALGORITHMS)')
    .option('--require-srtp', 'calls must use SRTP (RTP/SAVP, SDES keys) over SIP TLS; any other offer gets 488')
    .option('--json', 'print JSON')
    .action(async (opts: {
      tenant: string; number: string; agent: string; allow: string[]; allowAny?: boolean; digestUser?: string; digestPasswordStdin?: boolean;
      digestRealm: string; digestAlgorithms?: string; requireSrtp?: boolean; json?: boolean;
    }) => {
      if (!NUMBER_PATTERN.test(opts.number)) throw new Error('--number must be 1-64 characters of digits, letters, + * # . _ -');
      const allowedCidrs = allowedCidrsOption(opts.allow, opts.allowAny === true);
      let digestAlgorithms: ReturnType<typeof parseDigestAlgorithms> | undefined;
      if (opts.digestAlgorithms !== undefined) {
        try { digestAlgorithms = parseDigestAlgorithms(opts.digestAlgorithms); } catch (error) { throw new Error(`--digest-algorithms: ${(error as Error).message}`); }
        if (!opts.digestUser) throw new Error('--digest-algorithms needs digest credentials (--digest-user and --digest-password-stdin)');
      }
      if (Boolean(opts.digestUser) !== Boolean(opts.digestPasswordStdin)) throw new Error('digest auth needs both --digest-user and --digest-password-stdin');
      if (allowedCidrs.length === 0 && !opts.digestUser) throw new Error('give --allow <cidr> and/or digest credentials, or no carrier can call this number');
      let digest: DigestCredentials | undefined;
      if (opts.digestUser) digest = digestCredentials(opts.digestUser, opts.digestRealm, await readSecretLine(io));
      await ctx.withDb(async (db) => {
        const found = await getAgent(db, opts.tenant, opts.agent);
        if (!found) throw new Error(`no agent "${opts.agent}" in this tenant`);
        const row = await createNumber(db, opts.tenant, {
          number: opts.number, agentId: found.id, allowedCidrs: opts.allow, allowAnySource: opts.allowAny === true, digest, digestAlgorithms,
          requireSrtp: opts.requireSrtp === true,
        }, { actor: OPERATOR });
        io.stdout.write(opts.json ? JSON.stringify({ numberId: row.id, number: row.number, agentId: found.id }) + '\n' : `number ${row.number} -> agent ${found.name}\n`);
      });
    });
  number
    .command('list')
    .requiredOption('--tenant <id>', 'tenant id', tenantOption)
    .option('--json', 'print JSON')
    .action(async (opts: { tenant: string; json?: boolean }) => {
      await ctx.withDb(async (db) => {
        const list = await listNumbers(db, opts.tenant);
        // digestAlgorithms null: the server default (SMARTALEX_SIP_DIGEST_ALGORITHMS).
        const view = list.map((n) => ({
          number: n.number, agentId: n.agentId, allowedCidrs: n.allowedCidrs, digest: Boolean(n.digestUsername), digestAlgorithms: n.digestAlgorithms,
          requireSrtp: n.requireSrtp,
        }));
        if (opts.json) io.stdout.write(JSON.stringify(view) + '\n');
        else {
          for (const n of view) {
            const digest = n.digest ? `  digest ${n.digestAlgorithms?.join(',') ?? '(server default algorithms)'}` : '';
            io.stdout.write(`${n.number}  agent ${n.agentId}  allow ${n.allowedCidrs.join(',') || '-'}${digest}${n.requireSrtp ? '  srtp required' : ''}\n`);
          }
        }
      });
    });
}
