/**
 * A tenant's own provider API keys (issue 4: "API keys server-wide or per
 * tenant, never logged"):
 *   smartalex tenant set-provider-key --tenant T --provider deepgram|openai   (key on standard input)
 *   smartalex tenant remove-provider-key --tenant T --provider deepgram|openai
 *   smartalex tenant list-provider-keys --tenant T                             (names and dates only)
 * The key is read from standard input, never from the command line, sealed
 * with the tenant's key before it is stored, and never printed or audited.
 */
import { InvalidArgumentError, type Command } from 'commander';
import {
  audit, isProviderKeyProvider, listProviderKeys, removeProviderKey, setProviderKey, PROVIDER_KEY_PROVIDERS, type ProviderKeyProvider,
} from '../../storage/index.ts';
import { OPERATOR, readSecretLine, tenantOption, type OperatorContext } from './operator.ts';

function providerOption(value: string): ProviderKeyProvider {
  if (!isProviderKeyProvider(value)) throw new InvalidArgumentError(`--provider must be ${PROVIDER_KEY_PROVIDERS.join(' or ')}`);
  return value;
}

export function registerProviderKeyCommands(program: Command, ctx: OperatorContext): void {
  const { io } = ctx;
  const tenant = program.commands.find((c) => c.name() === 'tenant') ?? program.command('tenant').description('manage tenants');
  tenant
    .command('set-provider-key')
    .description('store the tenant\'s own provider API key (read from standard input, sealed with the tenant key)')
    .requiredOption('--tenant <id>', 'tenant id', tenantOption)
    .requiredOption('--provider <name>', 'deepgram or openai', providerOption)
    .action(async (opts: { tenant: string; provider: ProviderKeyProvider }) => {
      const key = (await readSecretLine(io, 'paste the API key, then press Ctrl-D:')).trim();
      if (!key) throw new Error('no API key on standard input');
      if (/\s/.test(key)) throw new Error('the API key on standard input contains whitespace; give exactly one key');
      await ctx.withDb(async (db, config) => {
        const setup = await ctx.vault(db, config);
        await setProviderKey(db, setup.vault.keys, opts.tenant, opts.provider, key);
        await audit(db, opts.tenant, { actor: OPERATOR, action: 'provider_key.set', target: opts.provider });
        io.stdout.write(`tenant ${opts.tenant}: ${opts.provider} API key stored (sealed); calls pick it up within a minute\n`);
      });
    });
  tenant
    .command('remove-provider-key')
    .description('remove the tenant\'s own provider API key (its calls fall back to the server-wide key)')
    .requiredOption('--tenant <id>', 'tenant id', tenantOption)
    .requiredOption('--provider <name>', 'deepgram or openai', providerOption)
    .action(async (opts: { tenant: string; provider: ProviderKeyProvider }) => {
      await ctx.withDb(async (db) => {
        const removed = await removeProviderKey(db, opts.tenant, opts.provider);
        if (!removed) throw new Error(`tenant ${opts.tenant} has no ${opts.provider} API key`);
        await audit(db, opts.tenant, { actor: OPERATOR, action: 'provider_key.removed', target: opts.provider });
        io.stdout.write(`tenant ${opts.tenant}: ${opts.provider} API key removed\n`);
      });
    });
  tenant
    .command('list-provider-keys')
    .description('which provider API keys the tenant has (names and dates, never the keys)')
    .requiredOption('--tenant <id>', 'tenant id', tenantOption)
    .option('--json', 'print JSON')
    .action(async (opts: { tenant: string; json?: boolean }) => {
      await ctx.withDb(async (db) => {
        const list = await listProviderKeys(db, opts.tenant);
        if (opts.json) io.stdout.write(JSON.stringify(list.map((k) => ({ provider: k.provider, createdAt: k.createdAt.toISOString() }))) + '\n');
        else if (list.length === 0) io.stdout.write(`tenant ${opts.tenant}: no provider API keys (server-wide keys apply)\n`);
        else for (const k of list) io.stdout.write(`${k.provider}\t${k.createdAt.toISOString()}\n`);
      });
    });
}
