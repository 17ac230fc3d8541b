/**
 * The live calls feed behind the console's live page, per tenant: this
 * node's calls from its call manager's typed events (a call starts, a turn's
 * trace arrives, a call ends: immediate, with the turn count), and, when
 * given a source of them (a cluster on a Postgres server), the other nodes'
 * calls read from the database while someone on this node watches the
 * tenant (other-nodes-calls.ts). It keeps the calls in progress plus the last
 * few that ended, as views safe to show a viewer (live-call.ts: the other
 * party masked, no transcript, no audio). Subscribers are told of every
 * change to their tenant's calls, never another tenant's.
 */
import type { CallManager, CallSession } from '../calls/index.ts';
import { maskParty, type LiveCall } from './live-call.ts';
import type { OtherNodesCallSource } from './other-nodes-calls.ts';

export type LiveCallListener = (call: LiveCall) => void;

/** How many ended calls a tenant's feed keeps showing. */
const KEEP_ENDED = 20;

export interface LiveCallFeedOptions {
  /** This node's id, shown with its calls. */
  nodeId?: string;
  /** The other nodes' calls (a cluster); without it the feed shows this node's calls only (embedded PGlite: the only node). */
  otherNodes?: OtherNodesCallSource;
  now?: () => Date;
}

type CallEvents = Pick<CallManager, 'on' | 'off'>;

export class LiveCallFeed {
  private readonly byTenant = new Map<string, Map<string, LiveCall>>();
  private readonly listeners = new Map<string, Set<LiveCallListener>>();
  private readonly onStarted = (session: CallSession): void => this.started(session);
  private readonly onEnded = (session: CallSession, reason: string): void => this.ended(session, reason);
  /** Per tenant, the ids of the calls that came from the other nodes (dropped when nobody watches the tenant). */
  private readonly remote = new Map<string, Set<string>>();
  /** Per watched tenant, how to stop reading the other nodes' calls. */
  private readonly watching = new Map<string, () => void>();
  private readonly now: () => Date;

  constructor(private readonly calls: CallEvents, private readonly options: LiveCallFeedOptions = {}) {
    this.now = options.now ?? (() => new Date());
    calls.on('call-started', this.onStarted);
    calls.on('call-ended', this.onEnded);
  }

  /** The tenant's calls: in progress first, then the most recently ended. */
  snapshot(tenantId: string): LiveCall[] {
    const calls = [...(this.byTenant.get(tenantId)?.values() ?? [])];
    return calls.sort((a, b) => (a.state === b.state ? b.startedAt.localeCompare(a.startedAt) : a.state === 'active' ? -1 : 1));
  }

  /** Calls `listener` with every change to `tenantId`'s calls until the returned function is called. */
  subscribe(tenantId: string, listener: LiveCallListener): () => void {
    let set = this.listeners.get(tenantId);
    if (!set) this.listeners.set(tenantId, (set = new Set()));
    set.add(listener);
    if (this.options.otherNodes && !this.watching.has(tenantId)) {
      this.watching.set(tenantId, this.options.otherNodes.watch(tenantId, (call) => this.putRemote(tenantId, call)));
    }
    return () => {
      set.delete(listener);
      if (set.size > 0 || this.listeners.get(tenantId) !== set) return;
      this.listeners.delete(tenantId);
      this.unwatch(tenantId);
    };
  }

  /** Stops listening and reading; resolves once no read of the other nodes' calls is in flight. */
  async close(): Promise<void> {
    this.calls.off('call-started', this.onStarted);
    this.calls.off('call-ended', this.onEnded);
    this.listeners.clear();
    for (const tenantId of [...this.watching.keys()]) this.unwatch(tenantId);
    await this.options.otherNodes?.close();
  }

  /** Nobody on this node watches the tenant: stop reading its other nodes' calls and forget them (they would go stale). */
  private unwatch(tenantId: string): void {
    this.watching.get(tenantId)?.();
    this.watching.delete(tenantId);
    const calls = this.byTenant.get(tenantId);
    for (const id of this.remote.get(tenantId) ?? []) calls?.delete(id);
    this.remote.delete(tenantId);
  }

  private putRemote(tenantId: string, call: LiveCall): void {
    const existing = this.byTenant.get(tenantId)?.get(call.id);
    const remote = this.remote.get(tenantId) ?? new Set<string>();
    if (existing && !remote.has(call.id)) return; // this node's own call: its events know more
    this.remote.set(tenantId, remote.add(call.id));
    this.put(tenantId, call);
    if (call.state === 'ended') this.trimEnded(tenantId);
  }

  private started(session: CallSession): void {
    const call: LiveCall = {
      id: session.callId, agentId: session.agent.id, agentName: session.agent.name, direction: session.direction,
      party: maskParty(session.remoteParty), state: 'active', startedAt: this.now().toISOString(), endedAt: null, turns: 0, endReason: null,
      nodeId: this.options.nodeId ?? null,
    };
    this.put(session.tenantId, call);
    session.on('trace', () => {
      const current = this.byTenant.get(session.tenantId)?.get(session.callId);
      if (current && current.state === 'active') this.put(session.tenantId, { ...current, turns: current.turns + 1 });
    });
  }

  private ended(session: CallSession, reason: string): void {
    const current = this.byTenant.get(session.tenantId)?.get(session.callId);
    if (!current) return;
    this.put(session.tenantId, { ...current, state: 'ended', endedAt: this.now().toISOString(), endReason: reason });
    this.trimEnded(session.tenantId);
  }

  private put(tenantId: string, call: LiveCall): void {
    let calls = this.byTenant.get(tenantId);
    if (!calls) this.byTenant.set(tenantId, (calls = new Map()));
    calls.set(call.id, call);
    for (const listener of this.listeners.get(tenantId) ?? []) {
      try { listener(call); } catch { /* a subscriber's failure is its own */ }
    }
  }

  private trimEnded(tenantId: string): void {
    const calls = this.byTenant.get(tenantId);
    if (!calls) return;
    const ended = [...calls.values()].filter((c) => c.state === 'ended').sort((a, b) => b.endedAt!.localeCompare(a.endedAt!));
    for (const old of ended.slice(KEEP_ENDED)) {
      calls.delete(old.id);
      this.remote.get(tenantId)?.delete(old.id);
    }
  }
}
