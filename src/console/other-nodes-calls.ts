/**
 * The other media nodes' live calls, for the console's live list (a console on node B shows node A's calls).
 * Postgres is the cluster's source of truth: each node's call rows carry its node id, a call's row changes
 * when it rings, is answered and ends, and the reaper ends a dead node's calls (`node-lost`) in the same rows.
 *
 * Why polling rather than LISTEN/NOTIFY: the rows change in several places (three call-path statements and
 * two SECURITY DEFINER functions, the reaper's and a node's stop), so notifications would mean one more
 * statement on the call path (its statement budget, issue 17) or a trigger (a migration), and a resync
 * protocol for notifications lost while a listening connection reconnects. A poll reads the same truth the
 * reaper writes and cannot miss an end. Its cost is bounded by what is watched, not by calls: one indexed
 * statement (the open calls per node, calls_node_open) per tenant that has a console open on this node,
 * every `intervalMs`, shared by all of that tenant's viewers, and none at all when nobody watches. Reads go
 * through withTenant, so RLS scopes them: a tenant's watch never returns another tenant's calls.
 *
 * A call's turn count is its node's running latency summary (calls.latency.turns), which nodes on a
 * Postgres server write after each turn (CallSessionInit.shareTurns): one statement per turn at most, none
 * per audio frame, and none on embedded PGlite (a single node, whose console counts its own calls' turns).
 */
import { listOtherNodesCalls, type Database, type OtherNodeCall } from '../../storage/index.ts';
import type { Logger } from '../log.ts';
import { maskParty, type LiveCall } from './live-call.ts';

/** What the live feed needs from a source of other nodes' calls. */
export interface OtherNodesCallSource {
  /** Calls `onChange` with each new or changed call of the tenant on another node until the returned function is called. */
  watch(tenantId: string, onChange: (call: LiveCall) => void): () => void;
  close(): Promise<void>;
}

export interface OtherNodesCallsOptions {
  db: Database;
  /** This node: its own calls come from its call manager's events, not from here. */
  nodeId: string;
  /** Between two reads of a watched tenant's calls. Default 1500 ms. */
  intervalMs?: number;
  logger: Logger;
}

interface Watch {
  tenantId: string;
  onChange: (call: LiveCall) => void;
  /** The last view sent per call, while it is in progress. */
  open: Map<string, LiveCall>;
  timer: NodeJS.Timeout | undefined;
  reading: Promise<void>;
  stopped: boolean;
}

export class OtherNodesCalls implements OtherNodesCallSource {
  private readonly watches = new Set<Watch>();
  private failing = false;

  constructor(private readonly options: OtherNodesCallsOptions) {}

  watch(tenantId: string, onChange: (call: LiveCall) => void): () => void {
    const w: Watch = { tenantId, onChange, open: new Map(), timer: undefined, reading: Promise.resolve(), stopped: false };
    this.watches.add(w);
    this.read(w);
    return () => this.stop(w);
  }

  async close(): Promise<void> {
    const all = [...this.watches];
    for (const w of all) this.stop(w);
    await Promise.all(all.map((w) => w.reading));
  }

  private stop(w: Watch): void {
    w.stopped = true;
    clearTimeout(w.timer);
    this.watches.delete(w);
  }

  /** One read, then the next after `intervalMs` (never two at once for a watch). */
  private read(w: Watch): void {
    w.reading = this.readOnce(w).finally(() => {
      if (w.stopped) return;
      w.timer = setTimeout(() => this.read(w), this.options.intervalMs ?? 1500);
      w.timer.unref();
    });
  }

  private async readOnce(w: Watch): Promise<void> {
    let rows: OtherNodeCall[];
    try {
      rows = await listOtherNodesCalls(this.options.db, w.tenantId, this.options.nodeId, [...w.open.keys()]);
      if (this.failing) this.options.logger.info('reading the other nodes\' live calls works again');
      this.failing = false;
    } catch (error) {
      if (!this.failing) this.options.logger.warn({ err: { message: (error as Error).message } }, 'could not read the other nodes\' live calls');
      this.failing = true;
      return;
    }
    if (w.stopped) return;
    const seen = new Set<string>();
    for (const row of rows) {
      seen.add(row.id);
      const call = liveView(row);
      const before = w.open.get(row.id);
      if (call.state === 'active') w.open.set(row.id, call);
      else w.open.delete(row.id);
      if (!before || before.state !== call.state || before.turns !== call.turns || before.agentName !== call.agentName) this.tell(w, call);
    }
    // A call seen in progress whose row is gone (erased): it is over, as far as anyone can tell.
    for (const [id, before] of w.open) {
      if (seen.has(id)) continue;
      w.open.delete(id);
      this.tell(w, { ...before, state: 'ended', endedAt: new Date().toISOString(), endReason: null });
    }
  }

  private tell(w: Watch, call: LiveCall): void {
    try { w.onChange(call); } catch { /* a subscriber's failure is its own */ }
  }
}

function liveView(row: OtherNodeCall): LiveCall {
  return {
    id: row.id, agentId: row.agentId ?? '', agentName: row.agentName ?? '(deleted agent)', direction: row.direction,
    party: maskParty(row.remoteUri), state: row.endedAt ? 'ended' : 'active', startedAt: row.startedAt.toISOString(),
    endedAt: row.endedAt?.toISOString() ?? null, turns: row.turns, endReason: row.endReason, nodeId: row.nodeId,
  };
}
