/**
 * Control-plane users from the shell, for the first owner on a fresh install:
 *   smartalex user create --tenant T --email E --role owner    (password on standard input)
 * creates the user (Argon2id hash; the password policy applies) and prints a
 * one-time setup link (or, without SMARTALEX_PUBLIC_BASE_URL, the token for
 * POST /v1/invitations/accept) that sets a new password: hand it to the person
 * when the operator should not choose their password (`--no-password`).
 * Runs in a live server over the admin socket like every operator command.
 */
import { InvalidArgumentError, type Command } from 'commander';
import type { Role } from '../../storage/index.ts';
import { createUserWithSetup } from '../api/auth/accounts.ts';
import { DEFAULT_SETTINGS } from '../api/deps.ts';
import { OPERATOR, readSecretLine, tenantOption, type OperatorContext } from './operator.ts';

const ROLES: readonly Role[] = ['owner', 'admin', 'manager', 'viewer'];

function roleOption(value: string): Role {
  if (!(ROLES as readonly string[]).includes(value)) throw new InvalidArgumentError(`--role must be ${ROLES.join(', ')}`);
  return value as Role;
}

export function registerUserCommands(program: Command, ctx: OperatorContext): void {
  const { io } = ctx;
  const user = program.command('user').description('manage control-plane users');
  user
    .command('create')
    .description('create a user with a role; the password is read from standard input; prints a one-time setup link')
    .requiredOption('--tenant <id>', 'tenant id', tenantOption)
    .requiredOption('--email <address>', 'e-mail address (the login)')
    .requiredOption('--role <role>', 'owner, admin, manager or viewer', roleOption)
    .option('--no-password', 'set no password: the person sets one through the setup link')
    .option('--json', 'print JSON')
    .action(async (opts: { tenant: string; email: string; role: Role; password: boolean; json?: boolean }) => {
      if (!/^[^\s@]{1,64}@[^\s@]{1,189}$/.test(opts.email.trim())) throw new Error('--email must be an e-mail address');
      let password: string | undefined;
      if (opts.password) {
        password = await readSecretLine(io, 'password (at least 8 characters, mixed), then press Ctrl-D:');
        if (!password) throw new Error('no password on standard input (or give --no-password to print only a setup link)');
      }
      await ctx.withDb(async (db, config) => {
        const created = await createUserWithSetup(db, opts.tenant, {
          email: opts.email, role: opts.role, password, actor: OPERATOR, now: new Date(), ttlMs: DEFAULT_SETTINGS.invitationTtlMs,
          baseUrl: config.SMARTALEX_PUBLIC_BASE_URL,
        }).catch((error: unknown) => {
          const e = error as { status?: number; detail?: string };
          throw new Error(e.status ? String(e.detail ?? 'refused') : (error as Error).message);
        });
        const { user: row, setup } = created;
        if (opts.json) {
          io.stdout.write(JSON.stringify({ userId: row.id, email: row.email, role: row.role, passwordSet: password !== undefined, setupToken: setup.token, setupUrl: setup.url ?? null, setupExpiresAt: setup.expiresAt.toISOString() }) + '\n');
          return;
        }
        io.stdout.write(`user ${row.id} ${row.email} (${row.role}) in tenant ${opts.tenant}\n`);
        if (password !== undefined) io.stdout.write('log in with POST /v1/auth/login {"email", "password"}\n');
        const hours = Math.round(DEFAULT_SETTINGS.invitationTtlMs / 3600_000);
        io.stdout.write(setup.url
          ? `one-time setup link (valid ${hours} h, sets a new password): ${setup.url}\n`
          : `one-time setup code (valid ${hours} h): ${setup.token}\n  use it with POST /v1/invitations/accept {"token": "<code>", "password": "<new password>"}\n`);
      });
    });
}
