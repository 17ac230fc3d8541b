/**
 * `smartalex call <number> --tenant T --agent A --via sip:carrier:5060`: one
 * outbound call through a carrier, run by the agent's runner exactly like an
 * inbound call, recorded as an outbound call. It opens its own SIP endpoint on
 * an ephemeral port (beside a running `serve` on the same embedded data
 * directory, inside that server: src/cli/admin-server.ts). The digest
 * password is read from stdin, never from the command line.
 *
 * Before anything is dialled, CallManager.placeCall checks the call against
 * the tenant's outbound policy (src/compliance/outbound-policy.ts: do-not-call
 * list, prior consent, caller ID, calling hours in the tenant's time zone); a
 * refusal is audited (actor operator:cli) and ends the command with one line
 * naming the reason (exit 1), with no SIP traffic. Without --from the call
 * presents the tenant's first number.
 */
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { SipCallError } from '../../media/sip/index.ts';
import type { CallManager } from '../calls/index.ts';
import { createLogger } from '../log.ts';
import { OPERATOR, readSecretLine, tenantOption, type OperatorContext } from './operator.ts';

function seconds(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('expected a number of seconds above 0');
  return n;
}

export function registerCallCommand(program: Command, ctx: OperatorContext): void {
  const { io } = ctx;
  program
    .command('call <number>')
    .description('place an outbound call through a carrier and run the agent on it')
    .requiredOption('--tenant <id>', 'tenant id', tenantOption)
    .requiredOption('--agent <id>', 'agent id or name')
    .requiredOption('--via <uri>', 'carrier SIP URI, e.g. sip:carrier.example:5060 (;transport=tcp for TCP)')
    .option('--from <uri>', 'caller identity (From URI); its user part must be one of the tenant\'s numbers (default: the tenant\'s first number)')
    .option('--timeout <s>', 'give up (CANCEL) when unanswered after this long', seconds, 60)
    .option('--digest-user <user>', 'username for the carrier\'s digest challenge')
    .option('--digest-password-stdin', 'read the digest password from stdin')
    .action(async (number: string, opts: { tenant: string; agent: string; via: string; from?: string; timeout: number; digestUser?: string; digestPasswordStdin?: boolean }) => {
      if (opts.digestPasswordStdin && !opts.digestUser) throw new Error('--digest-password-stdin needs --digest-user');
      const password = opts.digestPasswordStdin ? await readSecretLine(io) : undefined;
      await ctx.withDb(async (db, config) => {
        const logger = createLogger(config.SMARTALEX_LOG_LEVEL, io.stderr);
        // Loaded here: the call path brings the providers' SDKs, which every other command would pay for at start-up.
        const { CallManager, callManagerOptions } = await import('../calls/index.ts');
        let manager: CallManager | undefined;
        try {
          manager = await CallManager.start({ ...callManagerOptions(config, db, logger), port: 0 });
          const started = performance.now();
          const session = await manager.placeCall({
            tenantId: opts.tenant, agent: opts.agent, number, via: opts.via, actor: OPERATOR, timeoutMs: opts.timeout * 1000,
            ...(opts.from ? { from: opts.from } : {}),
            ...(opts.digestUser ? { auth: { username: opts.digestUser, password: password ?? '' } } : {}),
          });
          const answeredAfterMs = performance.now() - started;
          const endReason = await session.untilClosed();
          io.stdout.write(`call ${session.callId} answered after ${Math.round(answeredAfterMs)} ms, ended: ${endReason}\n`);
        } catch (error) {
          if (error instanceof SipCallError) throw new Error(`call failed: ${error.status} ${error.reason}`);
          throw error;
        } finally {
          await manager?.close();
        }
      });
    });
}
