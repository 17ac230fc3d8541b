/**
 * The per-tenant concurrent call limit across the cluster: each call holds a lease row in Postgres
 * (storage/cluster.ts), taken before the call is set up and released when it ends; the limit in force is
 * the tenant's own under the node's ceiling (src/calls/call-limit.ts), checked against the tenant's live
 * leases on every node in the same statement. A lease of a node whose heartbeat went stale stops counting
 * at once, so a dead node does not hold its tenants' places.
 */
import { randomUUID } from 'node:crypto';
import { acquireCallLease, releaseCallLease, type Database } from '../../storage/index.ts';
import type { CallLimiter, TenantLimit } from '../calls/call-limit.ts';
import type { Logger } from '../log.ts';
import type { ClusterNode } from './node.ts';

export function clusterCallLimiter(db: Database, node: ClusterNode, limitOf: TenantLimit, logger: Logger): CallLimiter {
  return {
    async acquire(tenantId) {
      const limit = await limitOf(tenantId);
      const leaseId = randomUUID();
      const ok = limit > 0 && await acquireCallLease(db, { tenantId, nodeId: node.id, leaseId, maxCalls: limit, staleAfterMs: node.staleAfterMs });
      if (!ok) return { admitted: false, limit };
      const release = (): void => {
        // A release that fails leaves a row the reaper drops with the node; the place is back by then.
        releaseCallLease(db, leaseId).catch((error: unknown) => logger.warn({ tenantId, err: { message: (error as Error).message } }, 'call lease could not be released'));
      };
      return { admitted: true, release, limit };
    },
  };
}
