/**
 * The refusals an operator needs to see when a carrier's calls do not get
 * through (or someone probes the server): every 401 (digest challenge), 403
 * (forbidden) and 488 (not acceptable) the SIP endpoint sends is counted in
 * smartalex_sip_refusals_total{status,method} and logged at debug with the
 * source address and transport. Nothing from the request itself is logged
 * (no URIs, numbers or SDP). Counted once per response, not per UDP
 * retransmission.
 */
import { Counter, type Registry } from 'prom-client';
import type { TransactionLayer } from '../../media/sip/index.ts';
import type { Logger } from '../log.ts';

export const COUNTED_REFUSALS: readonly number[] = [401, 403, 488];

const counters = new WeakMap<Registry, Counter<'status' | 'method'>>();

/** The refusal counter on a registry (one per registry: asking twice returns the same). */
export function sipRefusalCounter(registry: Registry): Counter<'status' | 'method'> {
  let counter = counters.get(registry);
  if (!counter) {
    counter = new Counter({
      name: 'smartalex_sip_refusals_total',
      help: 'SIP requests refused with 401 (challenge), 403 (forbidden) or 488 (not acceptable), by status and method',
      labelNames: ['status', 'method'] as const,
      registers: [registry],
    });
    counters.set(registry, counter);
  }
  return counter;
}

/** Counts and logs every 401/403/488 the transaction layer sends. */
export function watchRefusals(transactions: TransactionLayer, logger: Logger, registry?: Registry): void {
  const counter = registry ? sipRefusalCounter(registry) : undefined;
  transactions.on('response', (response, tx) => {
    if (!COUNTED_REFUSALS.includes(response.status)) return;
    const method = tx.request.method;
    counter?.inc({ status: String(response.status), method });
    logger.debug({ status: response.status, method, source: tx.source.address, transport: tx.source.transport }, 'SIP request refused');
  });
}
