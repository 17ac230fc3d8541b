/**
 * Operator commands for recordings, all audited:
 *   smartalex recording link <recording id> --tenant T [--ttl 15m]
 *   smartalex recording decrypt <recording id | file> --out file.wav [--tenant T]
 *   smartalex retention sweep
 *   smartalex tenant erase --tenant T --yes
 *   smartalex tenant rotate-key --tenant T
 * Plaintext audio only ever goes to the --out file the operator names: always
 * a new file (0600; an existing file or a symlink is refused).
 */
import { existsSync } from 'node:fs';
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { getRecording, isUuid, listTenantIds, type Database } from '../../storage/index.ts';
import { HEADER_LENGTH, MAX_LINK_TTL_MS, VaultError, parseHeader, type KeyErasure } from '../../storage/vault/index.ts';
import type { Config } from '../config.ts';
import { createLogger } from '../log.ts';
import {
  auditRecordingAccess, decryptToWavFile, eraseTenant, mintRecordingLink, openRecordingVault, OutputExistsError, parseTtl, rotateTenantRecordingKey, type RecordingVaultSetup,
} from '../recordings/index.ts';
import { sweepExpiredRecordings } from '../retention.ts';
import { OPERATOR, tenantOption, type OperatorContext } from './operator.ts';

function withVault<T>(ctx: OperatorContext, work: (db: Database, setup: RecordingVaultSetup, config: Config) => Promise<T>): Promise<T> {
  return ctx.withDb(async (db, config) => work(db, await ctx.vault(db, config), config));
}

/** The tenant a recording belongs to: the one given, else found through the tenant directory. */
async function findRecordingTenant(db: Database, recordingId: string, tenant: string | undefined): Promise<string> {
  if (tenant) {
    if (!(await getRecording(db, tenant, recordingId))) throw new Error(`no recording ${recordingId} in tenant ${tenant}`);
    return tenant;
  }
  for (const id of await listTenantIds(db)) if (await getRecording(db, id, recordingId)) return id;
  throw new Error(`no recording ${recordingId} in any tenant`);
}

async function readFileHeader(path: string): Promise<ReturnType<typeof parseHeader>> {
  const handle = await open(path, 'r');
  try {
    const bytes = Buffer.alloc(HEADER_LENGTH);
    const { bytesRead } = await handle.read(bytes, 0, HEADER_LENGTH, 0);
    return parseHeader(bytes.subarray(0, bytesRead));
  } finally {
    await handle.close();
  }
}

/** Whether destroyed key bytes are gone from the database files too, and if not, why. */
function writeErasure(io: OperatorContext['io'], erasure: KeyErasure): void {
  if (erasure.complete) {
    io.stdout.write('destroyed key bytes erased from the database files (table rewritten, write-ahead log segments retired)\n');
    return;
  }
  io.stdout.write('WARNING: destroyed key bytes may remain in the database files:\n');
  for (const caveat of erasure.caveats) io.stdout.write(`  - ${caveat}\n`);
}

export function registerRecordingCommands(program: Command, ctx: OperatorContext): void {
  const { io } = ctx;
  const recording = program.command('recording').description('recording links and operator decryption (audited)');

  recording
    .command('link')
    .description('print an expiring, signed link that streams the decrypted WAV')
    .argument('<recording>', 'recording id')
    .requiredOption('--tenant <id>', 'tenant id', tenantOption)
    .option('--ttl <duration>', 'lifetime, e.g. 90s, 15m, 2h, 1d (at most 7 days)', '15m')
    .option('--json', 'print JSON')
    .action(async (recordingId: string, opts: { tenant: string; ttl: string; json?: boolean }) => {
      const ttlMs = parseTtl(opts.ttl);
      await withVault(ctx, async (db, setup, config) => {
        const link = await mintRecordingLink(db, setup.linkSecret, { tenantId: opts.tenant, recordingId, ttlMs, maxTtlMs: MAX_LINK_TTL_MS, actor: OPERATOR });
        // A full URL only on the configured public base URL; otherwise the path, to append to the server's HTTP address.
        const base = config.SMARTALEX_PUBLIC_BASE_URL;
        const url = base ? `${base}${link.path}` : undefined;
        if (opts.json) io.stdout.write(JSON.stringify({ ...(url ? { url } : {}), path: link.path, expiresAt: link.expiresAt.toISOString() }) + '\n');
        else if (url) io.stdout.write(`${url}\nexpires ${link.expiresAt.toISOString()}\n`);
        else io.stdout.write(`${link.path}\nexpires ${link.expiresAt.toISOString()} (append to the server's HTTP address, or set SMARTALEX_PUBLIC_BASE_URL)\n`);
      });
    });

  recording
    .command('decrypt')
    .description('decrypt a recording (by id, or a .saxrec file) to a WAV file')
    .argument('<source>', 'recording id, or path to a recording file')
    .requiredOption('--out <file>', 'new WAV file to write (created with mode 0600; an existing file or symlink is refused)')
    .option('--tenant <id>', 'tenant id (found automatically when omitted)', tenantOption)
    .action(async (source: string, opts: { out: string; tenant?: string }) => {
      const out = resolve(io.cwd, opts.out);
      await withVault(ctx, async (db, setup) => {
        const file = resolve(io.cwd, source);
        const fromFile = existsSync(file);
        if (!fromFile && !isUuid(source)) throw new Error(`"${source}" is neither a recording id nor a readable file`);
        let tenantId: string;
        let recordingId: string;
        let stream: AsyncIterable<Uint8Array>;
        if (fromFile) {
          const header = await readFileHeader(file);
          if (opts.tenant && opts.tenant !== header.tenantId) throw new Error(`${source} belongs to tenant ${header.tenantId}, not ${opts.tenant}`);
          tenantId = header.tenantId;
          recordingId = header.recordingId;
          stream = createReadStream(file);
        } else {
          recordingId = source;
          tenantId = await findRecordingTenant(db, source, opts.tenant);
          stream = await setup.vault.store.openRead({ tenantId, recordingId });
        }
        const who = { tenantId, recordingId, actor: OPERATOR };
        let result;
        try {
          result = await decryptToWavFile(stream, setup.vault.keys, out, { tenantId, recordingId });
        } catch (err) {
          await auditRecordingAccess(db, { ...who, action: 'recording.decrypt.failed', detail: { source: fromFile ? 'file' : 'store', reason: err instanceof VaultError ? err.code : err instanceof OutputExistsError ? 'output-exists' : 'ERROR' } });
          throw err;
        }
        await auditRecordingAccess(db, { ...who, action: 'recording.decrypted', detail: { source: fromFile ? 'file' : 'store', cutShort: result.cutShort } });
        const seconds = result.pcmBytes / (result.header.sampleRate * result.header.channels * 2);
        io.stdout.write(`decrypted recording ${recordingId} (tenant ${tenantId}) to ${opts.out}: ${seconds.toFixed(2)} s, ${result.header.channels} channels, ${result.header.sampleRate} Hz\n`);
        if (result.cutShort) {
          io.stdout.write(`recording was cut short: decrypted up to its last complete chunk (${result.chunks} chunks)\n`);
        }
      });
    });

  program
    .command('retention')
    .description('recording retention')
    .command('sweep')
    .description('delete recordings past their retention deadline, in every tenant, now')
    .action(async () => {
      await withVault(ctx, async (db, setup, config) => {
        const logger = createLogger(config.SMARTALEX_LOG_LEVEL, io.stderr);
        const result = await sweepExpiredRecordings({ db, store: setup.store, logger });
        io.stdout.write(`retention sweep: ${result.deleted} expired recordings deleted across ${result.tenants} tenants${result.failed ? `, ${result.failed} failed` : ''}\n`);
        if (result.failed) io.setExitCode(1);
      });
    });

  const tenant = program.commands.find((c) => c.name() === 'tenant') ?? program.command('tenant').description('manage tenants');
  tenant
    .command('rotate-key')
    .description('new tenant key version; re-wraps every recording\'s data key (headers only, audio untouched) and re-seals the tenant\'s secrets, then destroys the older versions')
    .requiredOption('--tenant <id>', 'tenant id', tenantOption)
    .action(async (opts: { tenant: string }) => {
      await withVault(ctx, async (db, setup) => {
        const r = await rotateTenantRecordingKey(db, setup.vault, opts.tenant, OPERATOR);
        io.stdout.write(`tenant ${opts.tenant}: key version ${r.version}, ${r.rewrapped} recordings re-wrapped, ${r.providerKeysResealed} provider keys, `
          + `${r.carrierCredentialsResealed} carrier credentials and ${r.secretsResealed} TOTP/webhook secrets re-sealed\n`);
        for (const f of r.failed) io.stdout.write(`recording ${f.recordingId} could not be re-wrapped (${f.reason})\n`);
        for (const p of r.providerKeysFailed) io.stdout.write(`provider key ${p} could not be re-sealed\n`);
        for (const n of r.carrierCredentialsFailed) io.stdout.write(`number ${n}'s carrier credential could not be re-sealed\n`);
        for (const s of r.secretsFailed) io.stdout.write(`${s} could not be re-sealed\n`);
        if (r.kept.length > 0) {
          io.stdout.write(`older key versions ${r.kept.map((k) => k.version).join(', ')} KEPT (not destroyed) because something they wrap was not re-wrapped; fix it and run rotate-key again\n`);
          io.setExitCode(1);
        } else if (r.retired.length > 0) {
          io.stdout.write(`older key versions ${r.retired.map((k) => k.version).join(', ')} destroyed: anything still wrapped by them (such as copies made before this rotation) can no longer be decrypted\n`);
          writeErasure(io, r.erasure!);
        }
      });
    });
  tenant
    .command('erase')
    .description('destroy a tenant\'s keys (its recordings become unreadable everywhere) and delete all its data')
    .requiredOption('--tenant <id>', 'tenant id', tenantOption)
    .option('--yes', 'confirm: this cannot be undone')
    .action(async (opts: { tenant: string; yes?: boolean }) => {
      if (!opts.yes) throw new Error('tenant erase destroys the tenant\'s keys and deletes all its data for good; add --yes to confirm');
      await withVault(ctx, async (db, setup) => {
        const { recordings, keyErasure } = await eraseTenant(db, setup.vault, opts.tenant, OPERATOR);
        io.stdout.write(`tenant ${opts.tenant} erased: keys destroyed, ${recordings} recordings and all tenant rows deleted\n`);
        writeErasure(io, keyErasure);
      });
    });
}
