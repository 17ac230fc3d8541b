/**
 * The per-tenant concurrent call limit, as CallManager asks for it: one place per call, taken before the
 * call is set up, given back once it ends. In one process (tests, tools) an in-memory count; `serve` on a
 * Postgres server uses the cluster's leases (src/cluster/call-leases.ts), which hold across nodes.
 *
 * The limit in force for a tenant's call is its own `maxConcurrentCalls` (the operator's setting, read
 * through a short cache: storage/repos/tenant-call-limit.ts says how stale it may be), never above
 * SMARTALEX_MAX_CALLS_PER_TENANT, the node-wide safety ceiling. The plans define no concurrent-call
 * maximum, so none caps it (a plan maximum would be one more `Math.min` in `tenantLimitIn`).
 */
import { tenantCallLimit, type Database } from '../../storage/index.ts';
import type { CallTransportKind } from './session-transport.ts';

/** Gives the place back; safe to call more than once. */
export type ReleaseCall = () => void;

/** A place for the call (with its release), or a refusal; either way the limit that decided it. */
export type Admission = { admitted: true; release: ReleaseCall; limit: number } | { admitted: false; limit: number };

/** The limit in force for the tenant's next call. */
export type TenantLimit = (tenantId: string) => Promise<number>;

/** A call refused at the limit, as CallManager tells it ('call-refused'): no caller or number, only the way in and the limit that decided. */
export interface CallRefusal {
  reason: 'call-limit';
  kind: CallTransportKind;
  direction: 'inbound' | 'outbound';
  tenantId: string;
  limit: number;
}

export interface CallLimiter {
  /** One more call of the tenant, unless its calls are at the limit in force. */
  acquire(tenantId: string): Promise<Admission>;
}

/** The tenant's own limit (0 for a tenant that does not exist) under the node-wide ceiling. */
export function tenantLimitIn(db: Database, ceiling: number): TenantLimit {
  return async (tenantId) => Math.min(await tenantCallLimit(db, tenantId) ?? 0, ceiling);
}

export function localCallLimiter(limitOf: TenantLimit): CallLimiter {
  const active = new Map<string, number>();
  return {
    async acquire(tenantId) {
      const limit = await limitOf(tenantId);
      const n = active.get(tenantId) ?? 0;
      if (n >= limit) return { admitted: false, limit };
      active.set(tenantId, n + 1);
      let released = false;
      const release = (): void => {
        if (released) return;
        released = true;
        const left = (active.get(tenantId) ?? 1) - 1;
        if (left <= 0) active.delete(tenantId); else active.set(tenantId, left);
      };
      return { admitted: true, release, limit };
    },
  };
}
