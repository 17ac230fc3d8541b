/**
 * A number answered through a carrier's media streams (Twilio Media Streams,
 * Telnyx TeXML), issue 14:
 *   smartalex number set-carrier --tenant T --number N --carrier twilio|telnyx   (credential on standard input)
 *   smartalex number remove-carrier --tenant T --number N
 * The credential checks the carrier's webhook signatures: Twilio's auth token,
 * or Telnyx's public key (base64, as the Telnyx portal shows it, or PEM). It is
 * read from standard input, never from the command line, sealed with the
 * tenant's key before it is stored, and never printed or audited.
 */
import { InvalidArgumentError, type Command } from 'commander';
import { isStreamCarrier, listNumbers, STREAM_CARRIERS, type Database, type StreamCarrier } from '../../storage/index.ts';
import { carrierWebhookPath, removeCarrier, setCarrier } from '../resources/number-carriers.ts';
import { OPERATOR, readSecretLine, tenantOption, type OperatorContext } from './operator.ts';

function carrierOption(value: string): StreamCarrier {
  if (!isStreamCarrier(value)) throw new InvalidArgumentError(`--carrier must be ${STREAM_CARRIERS.join(' or ')}`);
  return value;
}

async function numberIdOf(db: Database, tenantId: string, number: string): Promise<string> {
  const found = (await listNumbers(db, tenantId)).find((n) => n.number === number);
  if (!found) throw new Error('no such number in this tenant');
  return found.id;
}

export function registerNumberCarrierCommands(program: Command, ctx: OperatorContext): void {
  const { io } = ctx;
  const number = program.commands.find((c) => c.name() === 'number') ?? program.command('number').description('manage called numbers');
  number
    .command('set-carrier')
    .description('answer the number through a carrier\'s media streams (the credential that checks its webhook signatures is read from standard input)')
    .requiredOption('--tenant <id>', 'tenant id', tenantOption)
    .requiredOption('--number <number>', 'the number as it is stored (number list)')
    .requiredOption('--carrier <name>', 'twilio (auth token) or telnyx (public key)', carrierOption)
    .action(async (opts: { tenant: string; number: string; carrier: StreamCarrier }) => {
      const credential = (await readSecretLine(io, opts.carrier === 'twilio' ? 'paste the Twilio auth token, then press Ctrl-D:' : 'paste the Telnyx public key, then press Ctrl-D:')).trim();
      if (!credential) throw new Error('no credential on standard input');
      await ctx.withDb(async (db, config) => {
        const numberId = await numberIdOf(db, opts.tenant, opts.number);
        const setup = await ctx.vault(db, config);
        await setCarrier(db, setup.vault.keys, opts.tenant, numberId, { carrier: opts.carrier, credential }, { actor: OPERATOR });
        io.stdout.write(`number ${numberId}: ${opts.carrier} media streams on (credential sealed); point the carrier's voice webhook at ${carrierWebhookPath(opts.carrier)}\n`);
      });
    });
  number
    .command('remove-carrier')
    .description('stop answering the number through a carrier\'s media streams')
    .requiredOption('--tenant <id>', 'tenant id', tenantOption)
    .requiredOption('--number <number>', 'the number as it is stored (number list)')
    .action(async (opts: { tenant: string; number: string }) => {
      await ctx.withDb(async (db) => {
        const numberId = await numberIdOf(db, opts.tenant, opts.number);
        await removeCarrier(db, opts.tenant, numberId, { actor: OPERATOR });
        io.stdout.write(`number ${numberId}: carrier removed\n`);
      });
    });
}
