/**
 * SIP transactions (RFC 3261 section 17, with RFC 6026's Accepted state).
 *
 * Server: INVITE (100 Trying after 200 ms or at once, provisional responses,
 * 2xx retransmitted T1, 2T1... capped at T2 until the ACK arrives, timer G/H
 * for non-2xx finals over UDP, timer I) and non-INVITE (timer J, a
 * retransmitted request gets the last response again).
 * Client: INVITE (timers A, B, D; ACK for non-2xx built here) and non-INVITE
 * (timers E, F, K).
 * Matching: by branch + sent-by + method when the branch has the RFC 3261
 * magic cookie, else by the RFC 2543 rules (Request-URI, tags, Call-ID, CSeq,
 * top Via).
 *
 * Timers yield to pending I/O: after an event-loop stall Node runs expired
 * timers before it reads the sockets, so a retransmission timer would resend a
 * request whose answer is already waiting (and the peer's answer to the
 * duplicate then needs a second ACK after our next request: a UAC that
 * retransmitted its INVITE after a 401 had arrived ACKed the duplicate 401
 * after its authenticated INVITE). Each timer therefore runs its action in a
 * setImmediate, after the poll phase has delivered what already arrived; the
 * state checks in the actions then see the response and stand down.
 *
 * Unadmitted state is capped: server transactions for requests nobody has
 * admitted yet (new INVITEs until they are answered 2xx, requests outside any
 * dialog) are at most `maxPending`; beyond it `receiveRequest` says
 * `overloaded` and the caller answers statelessly (see SipEndpoint).
 */
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { BRANCH_MAGIC_COOKIE, parseCSeq, parseVia, tagOf } from './header-values.ts';
import { createRequest, createResponseTo, SipHeaders, type SipMessage, type SipRequest, type SipResponse } from './message.ts';
import type { SipPeer } from './transport.ts';

export interface TimerSettings {
  /** RTT estimate; default 500 ms. */
  t1: number;
  /** Maximum retransmit interval; default 4000 ms. */
  t2: number;
  /** Maximum time a message stays in the network; default 5000 ms. */
  t4: number;
  /** Delay before an automatic 100 Trying to an INVITE (0 = immediately). Default 200 ms. */
  trying100Ms: number;
}

export const DEFAULT_TIMERS: TimerSettings = { t1: 500, t2: 4000, t4: 5000, trying100Ms: 200 };

/** What the transaction layer needs from a transport. */
export interface MessageSender {
  send(message: SipMessage, target: SipPeer): Promise<void>;
  sendResponse(response: SipResponse, requestSource: SipPeer): Promise<void>;
}

export function newBranch(): string {
  return BRANCH_MAGIC_COOKIE + randomBytes(10).toString('hex');
}

function topVia(msg: SipMessage) {
  const v = msg.headers.getList('via')[0];
  return v ? parseVia(v) : null;
}


/** Server transaction key for an incoming request (ACK and CANCEL map as RFC 3261 17.2.3 says). */
export function serverTransactionKey(req: SipRequest, methodOverride?: string): string | undefined {
  const via = topVia(req);
  if (!via) return undefined;
  const method = methodOverride ?? (req.method === 'ACK' ? 'INVITE' : req.method);
  const branch = via.params.branch;
  if (branch && branch.startsWith(BRANCH_MAGIC_COOKIE) && branch.length > BRANCH_MAGIC_COOKIE.length) {
    return `${branch}|${via.host}:${via.port ?? ''}|${method}`;
  }
  // RFC 2543: Request-URI, From tag, Call-ID, CSeq number, top Via (To tag only for non-ACK).
  const cseq = parseCSeq(req.headers.get('cseq') ?? '');
  const toTag = req.method === 'ACK' ? '' : tagOf(req.headers.get('to')) ?? '';
  return `2543|${req.uri}|${tagOf(req.headers.get('from')) ?? ''}|${toTag}|${req.headers.get('call-id') ?? ''}|${cseq?.seq ?? ''}|${via.host}:${via.port ?? ''}|${method}`;
}

function clientKey(branch: string, method: string): string {
  return `${branch}|${method}`;
}

/** A pending transaction timer, in its timeout stage or its yield (immediate) stage. */
type Timer = { timeout: ReturnType<typeof setTimeout> } | { immediate: ReturnType<typeof setImmediate> };

/**
 * A transaction timer: fires after `ms`, then waits for the poll phase (see the
 * header) before running `fn`. `track` keeps the live handle so clearTimers can
 * cancel it at either stage.
 */
function yieldingTimer(ms: number, fn: () => void, track: { add(t: Timer): void; remove(t: Timer): void }): void {
  const t: Timer = {
    timeout: setTimeout(() => {
      track.remove(t);
      const i: Timer = { immediate: setImmediate(() => { track.remove(i); fn(); }) };
      track.add(i);
    }, ms),
  };
  track.add(t);
}

function clearTimer(t: Timer): void {
  if ('timeout' in t) clearTimeout(t.timeout);
  else clearImmediate(t.immediate);
}

// ---------------------------------------------------------------- server

export type ServerTransactionState = 'trying' | 'proceeding' | 'completed' | 'confirmed' | 'accepted' | 'terminated';

export class ServerTransaction {
  state: ServerTransactionState;
  lastResponse: SipResponse | undefined;
  readonly isInvite: boolean;
  /** Called once when an INVITE's final response is never acknowledged (timer H / L). */
  onAckTimeout: (() => void) | undefined;
  /** Called when the ACK for a 2xx (or non-2xx) arrives. */
  onAck: ((ack: SipRequest) => void) | undefined;
  private timers: Timer[] = [];
  private retransmitInterval = 0;

  constructor(
    private readonly layer: TransactionLayer,
    readonly key: string,
    readonly request: SipRequest,
    readonly source: SipPeer,
  ) {
    this.isInvite = request.method === 'INVITE';
    this.state = this.isInvite ? 'proceeding' : 'trying';
    if (this.isInvite) {
      const delay = layer.timers.trying100Ms;
      if (delay <= 0) this.respond(createResponseTo(request, 100, 'Trying'));
      else this.timer(delay, () => { if (!this.lastResponse && this.state === 'proceeding') this.respond(createResponseTo(request, 100, 'Trying')); });
    }
  }

  private get reliable(): boolean {
    return this.source.transport !== 'UDP';
  }

  private timer(ms: number, fn: () => void): void {
    yieldingTimer(ms, fn, { add: (t) => this.timers.push(t), remove: (t) => { this.timers = this.timers.filter((x) => x !== t); } });
  }

  private clearTimers(): void {
    for (const t of this.timers) clearTimer(t);
    this.timers = [];
  }

  private transmit(res: SipResponse): void {
    this.layer.sender.sendResponse(res, this.source).catch(() => this.layer.onSendError?.());
  }

  /** Sends a response on this transaction and runs the state machine. */
  respond(res: SipResponse): void {
    if (this.state === 'completed' || this.state === 'confirmed' || this.state === 'terminated' || this.state === 'accepted') return;
    this.lastResponse = res;
    this.transmit(res);
    this.layer.emit('response', res, this);
    const { t1, t2 } = this.layer.timers;
    if (res.status < 200) {
      if (this.state === 'trying') this.state = 'proceeding';
      return;
    }
    if (!this.isInvite) {
      this.state = 'completed';
      this.timer(this.reliable ? 0 : 64 * t1, () => this.terminate()); // timer J
      return;
    }
    if (res.status < 300) {
      this.state = 'accepted';
      this.layer.admitted(this);
      if (!this.reliable) {
        this.retransmitInterval = t1;
        const again = () => {
          if (this.state !== 'accepted') return;
          this.transmit(res);
          this.retransmitInterval = Math.min(this.retransmitInterval * 2, t2);
          this.timer(this.retransmitInterval, again);
        };
        this.timer(t1, again);
      }
      this.timer(64 * t1, () => { if (this.state === 'accepted') { this.onAckTimeout?.(); this.terminate(); } }); // timer L
      return;
    }
    this.state = 'completed';
    if (!this.reliable) {
      this.retransmitInterval = t1;
      const again = () => { // timer G
        if (this.state !== 'completed') return;
        this.transmit(res);
        this.retransmitInterval = Math.min(this.retransmitInterval * 2, t2);
        this.timer(this.retransmitInterval, again);
      };
      this.timer(t1, again);
    }
    this.timer(64 * t1, () => { if (this.state === 'completed') { this.onAckTimeout?.(); this.terminate(); } }); // timer H
  }

  /** A retransmission of the request arrived: resend the last response (or absorb). */
  retransmission(): void {
    if (this.lastResponse && this.state !== 'terminated' && this.state !== 'confirmed') this.transmit(this.lastResponse);
    else if (this.isInvite && this.state === 'proceeding') this.respond(createResponseTo(this.request, 100, 'Trying'));
  }

  /** ACK matched to this INVITE transaction. */
  ack(ack: SipRequest): void {
    if (this.state === 'completed') {
      this.state = 'confirmed';
      this.clearTimers();
      this.timer(this.reliable ? 0 : this.layer.timers.t4, () => this.terminate()); // timer I
      this.onAck?.(ack);
    } else if (this.state === 'accepted') {
      this.clearTimers();
      this.onAck?.(ack);
      this.terminate();
    }
  }

  terminate(): void {
    if (this.state === 'terminated') return;
    this.state = 'terminated';
    this.clearTimers();
    this.layer.removeServer(this);
  }
}

// ---------------------------------------------------------------- client

export type ClientTransactionState = 'calling' | 'trying' | 'proceeding' | 'completed' | 'terminated';

export interface ClientTransactionHandlers {
  onResponse(response: SipResponse, tx: ClientTransaction): void;
  /** Timer B / F fired (no final response), or the transport failed. */
  onTimeout?(tx: ClientTransaction, reason: 'timeout' | 'transport'): void;
  /** The request's first transmission was handed to the socket (it has left this process). */
  onSent?(tx: ClientTransaction): void;
}

export class ClientTransaction {
  state: ClientTransactionState;
  readonly isInvite: boolean;
  readonly branch: string;
  private timers: Timer[] = [];
  private ackRequest: SipRequest | undefined;

  constructor(
    private readonly layer: TransactionLayer,
    readonly request: SipRequest,
    readonly target: SipPeer,
    private readonly handlers: ClientTransactionHandlers,
  ) {
    this.isInvite = request.method === 'INVITE';
    this.state = this.isInvite ? 'calling' : 'trying';
    const via = topVia(request);
    this.branch = via?.params.branch ?? '';
  }

  get key(): string {
    return clientKey(this.branch, this.request.method);
  }

  private get reliable(): boolean {
    return this.target.transport !== 'UDP';
  }

  private timer(ms: number, fn: () => void): void {
    yieldingTimer(ms, fn, { add: (t) => this.timers.push(t), remove: (t) => { this.timers = this.timers.filter((x) => x !== t); } });
  }

  private clearTimers(): void {
    for (const t of this.timers) clearTimer(t);
    this.timers = [];
  }

  private transmit(msg: SipMessage, onSent?: () => void): void {
    this.layer.sender.send(msg, this.target).then(onSent, () => {
      if (this.state === 'terminated') return;
      this.terminate();
      this.handlers.onTimeout?.(this, 'transport');
    });
  }

  start(): void {
    const { t1, t2 } = this.layer.timers;
    this.transmit(this.request, () => this.handlers.onSent?.(this));
    if (!this.reliable) {
      let interval = t1;
      const again = () => { // timer A (INVITE) / E (non-INVITE)
        if (this.isInvite ? this.state !== 'calling' : this.state !== 'trying' && this.state !== 'proceeding') return;
        this.transmit(this.request);
        interval = this.isInvite ? interval * 2 : this.state === 'proceeding' ? t2 : Math.min(interval * 2, t2);
        this.timer(interval, again);
      };
      this.timer(t1, again);
    }
    this.timer(64 * t1, () => { // timer B / F
      if (this.state === 'calling' || this.state === 'trying' || this.state === 'proceeding') {
        this.terminate();
        this.handlers.onTimeout?.(this, 'timeout');
      }
    });
  }

  receive(res: SipResponse): void {
    const { t1, t4 } = this.layer.timers;
    if (this.state === 'terminated') return;
    if (this.state === 'completed') {
      if (this.isInvite && res.status >= 300 && this.ackRequest) this.transmit(this.ackRequest);
      return;
    }
    if (res.status < 200) {
      if (this.state === 'calling' || this.state === 'trying') this.state = 'proceeding';
      this.handlers.onResponse(res, this);
      return;
    }
    if (this.isInvite && res.status < 300) {
      // 2xx: the transaction ends; the TU sends the ACK and absorbs retransmissions.
      this.terminate();
      this.handlers.onResponse(res, this);
      return;
    }
    this.state = 'completed';
    this.clearTimers();
    if (this.isInvite) {
      this.ackRequest = buildNon2xxAck(this.request, res);
      this.transmit(this.ackRequest);
      this.timer(this.reliable ? 0 : 64 * t1, () => this.terminate()); // timer D
    } else {
      this.timer(this.reliable ? 0 : t4, () => this.terminate()); // timer K
    }
    this.handlers.onResponse(res, this);
  }

  terminate(): void {
    if (this.state === 'terminated') return;
    this.state = 'terminated';
    this.clearTimers();
    this.layer.removeClient(this);
  }
}

/** ACK for a non-2xx final response (RFC 3261 17.1.1.3): same branch, To from the response. */
export function buildNon2xxAck(invite: SipRequest, res: SipResponse): SipRequest {
  const h = new SipHeaders();
  const via = invite.headers.getList('via')[0];
  if (via) h.append('Via', via);
  for (const r of invite.headers.getAll('route')) h.append('Route', r);
  h.append('Max-Forwards', '70');
  h.append('From', invite.headers.get('from') ?? '');
  h.append('To', res.headers.get('to') ?? invite.headers.get('to') ?? '');
  h.append('Call-ID', invite.headers.get('call-id') ?? '');
  h.append('CSeq', `${parseCSeq(invite.headers.get('cseq') ?? '')?.seq ?? 1} ACK`);
  return createRequest('ACK', invite.uri, h);
}

// ---------------------------------------------------------------- layer

export interface TransactionLimits {
  /** Server transactions at most for requests not admitted (yet). Default 5000. */
  maxPending?: number;
}

export interface TransactionLayerEvents {
  /** A server transaction sent a response (once per response; retransmissions are not repeated here). */
  response: [response: SipResponse, tx: ServerTransaction];
}

export class TransactionLayer extends EventEmitter<TransactionLayerEvents> {
  readonly timers: TimerSettings;
  readonly maxPending: number;
  /** Requests refused because `maxPending` was reached. */
  overloadedCount = 0;
  onSendError: (() => void) | undefined;
  private readonly servers = new Map<string, ServerTransaction>();
  private readonly clients = new Map<string, ClientTransaction>();
  /** Server transactions nobody has admitted: out of any dialog, not (yet) an answered INVITE. */
  private readonly pending = new Set<ServerTransaction>();

  constructor(readonly sender: MessageSender, timers: Partial<TimerSettings> = {}, limits: TransactionLimits = {}) {
    super();
    this.timers = { ...DEFAULT_TIMERS, ...timers };
    this.maxPending = limits.maxPending ?? 5000;
  }

  get serverCount(): number {
    return this.servers.size;
  }

  get pendingCount(): number {
    return this.pending.size;
  }

  get clientCount(): number {
    return this.clients.size;
  }

  /**
   * Routes an incoming request. Returns the new server transaction for the TU,
   * or undefined when the request was absorbed (a retransmission, or an ACK
   * matched to a non-2xx INVITE transaction). ACKs for 2xx and stray ACKs are
   * returned as `{ ack }` for the dialog layer. A new request outside a dialog
   * (`inDialog` false) when `maxPending` unadmitted transactions exist gets
   * `{ overloaded }` and no state; a CANCEL for a live INVITE always passes.
   */
  receiveRequest(req: SipRequest, source: SipPeer, inDialog = false): { tx: ServerTransaction } | { ack: SipRequest; tx?: ServerTransaction } | { overloaded: true } | undefined {
    const key = serverTransactionKey(req);
    if (req.method === 'ACK') {
      const tx = key ? this.servers.get(key) : undefined;
      if (tx && tx.state === 'completed') { tx.ack(req); return undefined; }
      if (tx && tx.state === 'confirmed') return undefined;
      // ACK for a 2xx: different branch; find the accepted INVITE by Call-ID and CSeq number.
      const accepted = this.findAcceptedInvite(req);
      if (accepted) accepted.ack(req);
      return accepted ? { ack: req, tx: accepted } : { ack: req };
    }
    if (!key) return undefined;
    const existing = this.servers.get(key);
    if (existing) { existing.retransmission(); return undefined; }
    const counted = !inDialog && !(req.method === 'CANCEL' && this.findInviteForCancel(req));
    if (counted && this.pending.size >= this.maxPending) {
      this.overloadedCount++;
      return { overloaded: true };
    }
    const tx = new ServerTransaction(this, key, req, source);
    this.servers.set(key, tx);
    if (counted) this.pending.add(tx);
    return { tx };
  }

  /** The INVITE server transaction a CANCEL refers to (same branch / 2543 key with method INVITE). */
  findInviteForCancel(cancel: SipRequest): ServerTransaction | undefined {
    const key = serverTransactionKey(cancel, 'INVITE');
    return key ? this.servers.get(key) : undefined;
  }

  private findAcceptedInvite(ack: SipRequest): ServerTransaction | undefined {
    const callId = ack.headers.get('call-id');
    const seq = parseCSeq(ack.headers.get('cseq') ?? '')?.seq;
    for (const tx of this.servers.values()) {
      if (tx.isInvite && tx.state === 'accepted' && tx.request.headers.get('call-id') === callId &&
        parseCSeq(tx.request.headers.get('cseq') ?? '')?.seq === seq) return tx;
    }
    return undefined;
  }

  /** Sends a request in a new client transaction. The request must carry its Via with a fresh branch. */
  sendRequest(req: SipRequest, target: SipPeer, handlers: ClientTransactionHandlers): ClientTransaction {
    const tx = new ClientTransaction(this, req, target, handlers);
    this.clients.set(tx.key, tx);
    tx.start();
    return tx;
  }

  /** Routes an incoming response to its client transaction; false when none matched. */
  receiveResponse(res: SipResponse): boolean {
    const via = topVia(res);
    const method = parseCSeq(res.headers.get('cseq') ?? '')?.method;
    if (!via?.params.branch || !method) return false;
    const tx = this.clients.get(clientKey(via.params.branch, method));
    if (!tx) return false;
    tx.receive(res);
    return true;
  }

  /** The INVITE was answered 2xx: its caller was admitted, it no longer counts against `maxPending`. */
  admitted(tx: ServerTransaction): void {
    this.pending.delete(tx);
  }

  removeServer(tx: ServerTransaction): void {
    this.pending.delete(tx);
    if (this.servers.get(tx.key) === tx) this.servers.delete(tx.key);
  }

  removeClient(tx: ClientTransaction): void {
    if (this.clients.get(tx.key) === tx) this.clients.delete(tx.key);
  }

  /** Stops every timer and forgets every transaction. */
  close(): void {
    for (const tx of [...this.servers.values()]) tx.terminate();
    for (const tx of [...this.clients.values()]) tx.terminate();
  }
}
