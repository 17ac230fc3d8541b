/**
 * The per-tenant concurrent call limit, as CallManager asks for it: one place per call, taken before the
 * call is set up, given back once it ends. In one process (tests, tools) an in-memory count; `serve`
 * uses the cluster's leases in Postgres (src/cluster/call-leases.ts), which hold across nodes.
 */

/** Gives the place back; safe to call more than once. */
export type ReleaseCall = () => void;

export interface CallLimiter {
  readonly maxCallsPerTenant: number;
  /** A place for one more call of the tenant, or undefined when it is at its limit. */
  acquire(tenantId: string): Promise<ReleaseCall | undefined>;
}

export function localCallLimiter(maxCallsPerTenant: number): CallLimiter {
  const active = new Map<string, number>();
  return {
    maxCallsPerTenant,
    async acquire(tenantId) {
      const n = active.get(tenantId) ?? 0;
      if (n >= maxCallsPerTenant) return undefined;
      active.set(tenantId, n + 1);
      let released = false;
      return () => {
        if (released) return;
        released = true;
        const left = (active.get(tenantId) ?? 1) - 1;
        if (left <= 0) active.delete(tenantId); else active.set(tenantId, left);
      };
    },
  };
}
