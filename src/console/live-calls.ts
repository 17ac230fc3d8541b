/**
 * The live calls feed behind the console's live page: what this node's call
 * manager is doing right now, per tenant. It listens to the manager's typed
 * events (a call starts, a turn's trace arrives, a call ends) and keeps, per
 * tenant, the calls in progress plus the last few that ended, as views safe
 * to show a viewer: the other party masked like everywhere else a number is
 * shown (last 4 digits), no transcript, no audio. Subscribers are told of
 * every change to their tenant's calls, never another tenant's.
 */
import { maskPhone } from '../compliance/index.ts';
import type { CallManager, CallSession } from '../calls/index.ts';

export interface LiveCall {
  id: string;
  agentId: string;
  agentName: string;
  direction: 'inbound' | 'outbound';
  /** The other party, masked. */
  party: string;
  state: 'active' | 'ended';
  startedAt: string;
  endedAt: string | null;
  turns: number;
  endReason: string | null;
}

export type LiveCallListener = (call: LiveCall) => void;

/** How many ended calls a tenant's feed keeps showing. */
const KEEP_ENDED = 20;

/** The user part of a SIP URI (or the whole text), masked: digits keep their last 4, a name its first letter. */
export function maskParty(uri: string): string {
  const user = /(?:sips?|tel):([^@;?>]*)/i.exec(uri)?.[1] ?? uri;
  if ((user.match(/\d/g) ?? []).length >= 3) return maskPhone(user);
  return user ? `${user.slice(0, 1)}***` : '(unknown)';
}

type CallEvents = Pick<CallManager, 'on' | 'off'>;

export class LiveCallFeed {
  private readonly byTenant = new Map<string, Map<string, LiveCall>>();
  private readonly listeners = new Map<string, Set<LiveCallListener>>();
  private readonly onStarted = (session: CallSession): void => this.started(session);
  private readonly onEnded = (session: CallSession, reason: string): void => this.ended(session, reason);

  constructor(private readonly calls: CallEvents, private readonly now: () => Date = () => new Date()) {
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
    return () => {
      set.delete(listener);
      if (set.size === 0) this.listeners.delete(tenantId);
    };
  }

  close(): void {
    this.calls.off('call-started', this.onStarted);
    this.calls.off('call-ended', this.onEnded);
    this.listeners.clear();
  }

  private started(session: CallSession): void {
    const call: LiveCall = {
      id: session.callId, agentId: session.agent.id, agentName: session.agent.name, direction: session.direction,
      party: maskParty(session.remoteParty), state: 'active', startedAt: this.now().toISOString(), endedAt: null, turns: 0, endReason: null,
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
    for (const old of ended.slice(KEEP_ENDED)) calls.delete(old.id);
  }
}
