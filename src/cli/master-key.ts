/**
 * `smartalex keys rotate-master (--new-key-file F | --generate --out F)`:
 * master-key rotation (src/recordings/rotate-master.ts). Beside a running
 * server it runs inside that server (admin socket), which switches keys
 * without dropping a call. A generated key is written to its new 0600 file
 * before anything else happens, so it cannot be lost; no key is ever printed.
 */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { createKeyFile } from '../../storage/vault/master-key-file.ts';
import { LocalMasterKey } from '../../storage/vault/index.ts';
import { rotateVaultMasterKey } from '../recordings/index.ts';
import { OPERATOR, type OperatorContext } from './operator.ts';

interface RotateOptions { newKeyFile?: string; generate?: boolean; out?: string }

export function registerMasterKeyCommands(program: Command, ctx: OperatorContext): void {
  const { io } = ctx;
  const keys = program.commands.find((c) => c.name() === 'keys') ?? program.command('keys').description('the master key');
  keys
    .command('rotate-master')
    .description('re-wrap every tenant key under a new master key in one transaction (recordings untouched), audited; the key file is replaced, the old one kept')
    .option('--new-key-file <file>', 'the new master key: 32 bytes as base64 or hex, in a private (0600) file')
    .option('--generate', 'generate the new master key (written to --out)')
    .option('--out <file>', 'with --generate: the new 0600 file to write the generated key to (an existing file is refused)')
    .action(async (opts: RotateOptions) => {
      if (Boolean(opts.newKeyFile) === Boolean(opts.generate)) throw new Error('give either --new-key-file FILE or --generate --out FILE');
      if (opts.generate && !opts.out) throw new Error('--generate needs --out FILE (where the new key is written, 0600)');
      if (opts.out && !opts.generate) throw new Error('--out goes with --generate');
      await ctx.withDb(async (db, config) => {
        const setup = await ctx.vault(db, config);
        let newMaster: LocalMasterKey;
        let keyPath: string;
        if (opts.generate) {
          keyPath = resolve(io.cwd, opts.out!);
          newMaster = LocalMasterKey.generate();
          await createKeyFile(keyPath, newMaster);
          io.stdout.write(`new master key ${newMaster.keyId} written to ${keyPath} (0600)\n`);
        } else {
          keyPath = resolve(io.cwd, opts.newKeyFile!);
          newMaster = await LocalMasterKey.fromKeyFile(keyPath);
        }
        const fromEnv = config.SMARTALEX_MASTER_KEY !== undefined;
        let r;
        try {
          r = await rotateVaultMasterKey(setup.vault.keys, newMaster, { keyFileDir: fromEnv ? null : config.SMARTALEX_DATA_DIR, actor: OPERATOR });
        } catch (error) {
          throw new Error(`master key not rotated, nothing changed: ${error instanceof Error ? error.message : String(error)}`);
        }
        io.stdout.write(`master key rotated: ${r.fromMasterKeyId} -> ${r.toMasterKeyId}; ${r.rewrapped} tenant key versions of ${r.tenants} tenants re-wrapped in one transaction (recordings and sealed secrets untouched)\n`);
        if (r.oldKeyFile) {
          io.stdout.write(`key file ${resolve(config.SMARTALEX_DATA_DIR, 'master.key')} replaced; the old key is kept as ${r.oldKeyFile} (0600): `
            + 'delete it once no backup made before this rotation needs restoring\n');
        } else {
          io.stdout.write(`SMARTALEX_MASTER_KEY is set, so no key file was changed: set it to the new key (the contents of ${keyPath}) before the server next starts; `
            + 'a start with the old value cannot unwrap any tenant key\n');
        }
        if (config.DATABASE_URL) {
          io.stdout.write('other servers on this database hold only the old key: restart them with the new one now\n');
        }
        io.stdout.write('a server running on this data directory switched already and keeps the old key for reading until it stops; '
          + 'recording and export links, control-plane sessions, WebRTC call tokens and media-stream tokens are signed with secrets derived from the master key: '
          + 'those issued before stop working when the server next starts with the new key (links are minted again, users sign in again)\n');
        io.stdout.write('backups made before this rotation need the old key to restore (SMARTALEX_MASTER_KEY=<old key> smartalex restore --in FILE)\n');
      });
    });
}
