/**
 * Cluster state in Postgres (0009_cluster.sql): node heartbeats, the per-tenant call leases that hold the
 * concurrent call limit across nodes, the reaper that ends the calls of a node whose heartbeat stopped, and
 * shared rate-limit windows. The runtime role runs the SECURITY DEFINER functions of that migration and
 * never touches the tables; every function answers for one key at a time.
 */
import { sql } from 'drizzle-orm';
import type { Database } from './database.ts';
import { rows } from './migrate.ts';
import { withoutTenant } from './tenant-scope.ts';

export type NodeState = 'running' | 'draining' | 'stopped' | 'lost';

/** The node is alive (and running or draining); creates its row on the first beat. */
export async function nodeHeartbeat(db: Database, nodeId: string, sipUri: string | null, state: 'running' | 'draining'): Promise<void> {
  await withoutTenant(db, (tx) => tx.execute(sql`select smartalex_node_heartbeat(${nodeId}, ${sipUri}, ${state})`));
}

export interface LeaseRequest {
  tenantId: string;
  nodeId: string;
  /** A fresh UUID naming the lease (its release). */
  leaseId: string;
  maxCalls: number;
  /** Leases of nodes whose heartbeat is older than this do not count. */
  staleAfterMs: number;
}

/** Takes one call lease for the tenant unless its live leases across the cluster are at maxCalls. */
export async function acquireCallLease(db: Database, r: LeaseRequest): Promise<boolean> {
  const result = await withoutTenant(db, (tx) => tx.execute(
    sql`select smartalex_acquire_call_lease(${r.tenantId}::uuid, ${r.nodeId}, ${r.leaseId}::uuid, ${r.maxCalls}::int, ${Math.round(r.staleAfterMs)}::int) as ok`));
  return rows<{ ok: boolean }>(result)[0]?.ok === true;
}

export async function releaseCallLease(db: Database, leaseId: string): Promise<void> {
  await withoutTenant(db, (tx) => tx.execute(sql`select smartalex_release_call_lease(${leaseId}::uuid)`));
}

/** Ends the node's open calls with `reason`, drops its leases and sets its state; resolves with the calls ended. */
export async function endNode(db: Database, nodeId: string, state: NodeState, reason: string): Promise<number> {
  const result = await withoutTenant(db, (tx) => tx.execute(sql`select smartalex_end_node(${nodeId}, ${state}, ${reason}) as ended`));
  return Number(rows<{ ended: number }>(result)[0]?.ended ?? 0);
}

export interface ReapedNode { nodeId: string; callsEnded: number }

/** Every node whose heartbeat is older than staleAfterMs is lost: its calls end as `node-lost`, its leases go. */
export async function reapLostNodes(db: Database, staleAfterMs: number): Promise<ReapedNode[]> {
  const result = await withoutTenant(db, (tx) => tx.execute(sql`select node_id, calls_ended from smartalex_reap_lost_nodes(${Math.round(staleAfterMs)}::int)`));
  return rows<{ node_id: string; calls_ended: number }>(result).map((r) => ({ nodeId: r.node_id, callsEnded: Number(r.calls_ended) }));
}

/** One hit on the fixed window of `windowMs` for `bucket`, shared by every node: the hits so far and the ms left. */
export async function rateLimitHit(db: Database, bucket: string, windowMs: number): Promise<{ hits: number; ttlMs: number }> {
  const result = await withoutTenant(db, (tx) => tx.execute(sql`select hits, ttl_ms from smartalex_rate_limit_hit(${bucket}, ${Math.round(windowMs)}::int)`));
  const row = rows<{ hits: number; ttl_ms: number }>(result)[0];
  return { hits: Number(row?.hits ?? 1), ttlMs: Number(row?.ttl_ms ?? windowMs) };
}

/** Session-level advisory lock keys: one per singleton job family. */
export const LEADER_LOCK = { namespace: 0x534d41, leader: 1 } as const;

/**
 * Claims a WebRTC call token's id for the whole cluster: true the first time, false for a replay on any node.
 * The id is kept until the token expires (expired ids are dropped on the way).
 */
export async function claimCallTokenId(db: Database, tokenId: string, expiresAt: Date): Promise<boolean> {
  const result = await withoutTenant(db, (tx) => tx.execute(sql`select smartalex_claim_call_token(${tokenId}, ${expiresAt.toISOString()}::timestamptz) as claimed`));
  return rows<{ claimed: boolean }>(result)[0]?.claimed === true;
}
