/**
 * SipEndpoint: transport + guard + transactions + dialogs, as a user agent.
 *
 * UAS: `onInvite(ctx)` gets each new INVITE with progress/accept/reject/
 * challenge and a `cancelled` signal (a CANCEL is answered 200 and the INVITE
 * 487 automatically). OPTIONS is answered 200 with Allow/Accept/Supported.
 * Draining (`drain()`, before a shutdown): OPTIONS and new INVITEs get 503, so
 * a dispatcher in front (Kamailio) marks the node down and sends new calls
 * elsewhere, while requests inside calls in progress are served as before.
 * In-dialog BYE/INFO/REFER/NOTIFY/re-INVITE go to their Dialog; requests that
 * need a dialog that does not exist get 481.
 * UAC: `invite()` handles provisional responses (early media), digest
 * challenges (401/407), ACK for 2xx, CANCEL on timeout, and returns a Dialog.
 */
import { randomBytes } from 'node:crypto';
import { buildAuthorization, pickChallenge, type DigestAlgorithm, type DigestServer, type DigestVerifyResult, type Ha1Lookup } from './digest.ts';
import { Dialog, dialogKey, type DialogHost, type ReinviteAnswer, type RequestHooks } from './dialog.ts';
import { SipGuard, type GuardOptions } from './guard.ts';
import { formatUri, isSipUri, parseUri } from './uri.ts';
import { formatWarning, parseCSeq, parseNameAddr, tagOf } from './header-values.ts';
import { createRequest, createResponseTo, SipHeaders, type SipRequest, type SipResponse } from './message.ts';
import { checkRequestSanity } from './parser.ts';
import { newBranch, TransactionLayer, type ServerTransaction, type TimerSettings } from './transaction.ts';
import { peerForUri, SipTransport, type SipPeer, type SipTransportOptions, type TransportName } from './transport.ts';

export const ALLOWED_METHODS = ['INVITE', 'ACK', 'CANCEL', 'BYE', 'OPTIONS', 'INFO', 'REFER', 'NOTIFY'];
const KNOWN_UNSUPPORTED = ['REGISTER', 'SUBSCRIBE', 'MESSAGE', 'PUBLISH', 'UPDATE', 'PRACK'];
const SUPPORTED_EXTENSIONS: string[] = [];
/** Retry-After of the stateless 503 sent when unadmitted transactions are at their cap. */
const OVERLOAD_RETRY_AFTER_S = 5;
/** Reason phrase of the 503 a draining endpoint answers OPTIONS and new INVITEs with. */
export const DRAINING_REASON = 'Service Unavailable (draining)';

export interface SipEndpointOptions extends Omit<SipTransportOptions, 'guard'> {
  /** Flood/scanner guard: an instance, options for one, or false for none. Default: a guard with defaults. */
  guard?: SipGuard | GuardOptions | false;
  timers?: Partial<TimerSettings>;
  /**
   * Server transactions at most for requests not admitted (yet): new INVITEs
   * until answered 2xx, requests outside any dialog. Beyond it such requests
   * get a stateless 503 with Retry-After. Default 5000.
   */
  maxPendingTransactions?: number;
  /** User part of our Contact. Default "smartalex". */
  contactUser?: string;
  userAgent?: string;
}

export class SipCallError extends Error {
  constructor(readonly status: number, readonly reason: string, readonly response?: SipResponse) {
    super(`call failed: ${status} ${reason}`);
  }
}

/** Handed to the `onInvite` handler for each new incoming call. */
export interface IncomingCall {
  readonly request: SipRequest;
  readonly source: SipPeer;
  /** Aborted when the caller CANCELs (the 487 is sent for you). */
  readonly cancelled: AbortSignal;
  /** The SDP offer, when the INVITE carried one. */
  readonly offer: string | undefined;
  progress(code?: number, sdp?: string): void;
  accept(sdpAnswer: string, extraHeaders?: Array<readonly [string, string]>): Dialog;
  reject(code: number, reason?: string, extraHeaders?: Array<readonly [string, string]>): void;
  /** Sends 401 (or 407 with proxy) with one digest challenge per algorithm (the server's, or `algorithms`), in order. */
  challenge(server: DigestServer, options?: { proxy?: boolean; stale?: boolean; algorithms?: readonly DigestAlgorithm[] }): void;
  /** Checks the INVITE's Authorization (or Proxy-Authorization) against stored HA1 values; only `algorithms` (default the server's) are accepted. */
  verifyCredentials(server: DigestServer, lookup: Ha1Lookup, options?: { proxy?: boolean; algorithms?: readonly DigestAlgorithm[] }): Promise<DigestVerifyResult>;
}

export interface InviteOptions {
  /** Request-URI, e.g. sip:agent@127.0.0.1:5060;transport=tcp */
  uri: string;
  /** Our identity (URI), e.g. sip:caller@example.com */
  from: string;
  /** Callee identity (URI); defaults to the Request-URI. */
  to?: string;
  sdp?: string;
  auth?: { username: string; password: string };
  /** CANCEL when no final answer arrived by then. Default 32 s. */
  timeoutMs?: number;
  /** Transport override (else the URI's transport parameter, else UDP). */
  transport?: TransportName;
  headers?: Array<readonly [string, string]>;
  onProgress?: (response: SipResponse) => void;
  /** A provisional response carried SDP (early media). */
  onEarlyMedia?: (sdp: string, response: SipResponse) => void;
  signal?: AbortSignal;
}

export type InviteHandler = (call: IncomingCall) => void | Promise<void>;

function newTag(): string {
  return randomBytes(6).toString('hex');
}

function stripTag(value: string): string {
  const na = parseNameAddr(value);
  if (!na) return value;
  const params = { ...na.params };
  delete params.tag;
  const display = na.displayName === undefined ? '' : `"${na.displayName.replace(/[\\"]/g, (c) => '\\' + c)}" `;
  const rest = Object.entries(params).map(([k, v]) => (v === null ? `;${k}` : `;${k}=${v}`)).join('');
  return `${display}<${formatUri(na.uri)}>${rest}`;
}

export class SipEndpoint implements DialogHost {
  readonly transport: SipTransport;
  readonly transactions: TransactionLayer;
  readonly guard: SipGuard | undefined;
  private inviteHandler: InviteHandler | undefined;
  private readonly dialogs = new Map<string, Dialog>();
  private readonly cancelControllers = new WeakMap<ServerTransaction, AbortController>();
  private readonly contactUser: string;
  private readonly userAgent: string;
  private closed = false;
  private isDraining = false;

  private constructor(transport: SipTransport, guard: SipGuard | undefined, options: SipEndpointOptions) {
    this.transport = transport;
    this.guard = guard;
    this.transactions = new TransactionLayer(transport, options.timers, options.maxPendingTransactions !== undefined ? { maxPending: options.maxPendingTransactions } : {});
    this.contactUser = options.contactUser ?? 'smartalex';
    this.userAgent = options.userAgent ?? 'SmartAlex-Media';
    transport.on('message', (msg, source) => {
      try {
        if (msg.kind === 'request') this.onRequest(msg, source);
        else this.onResponse(msg);
      } catch { /* a bad message must never take the endpoint down */ }
    });
    transport.on('error', () => { /* socket errors are per-send; keep serving */ });
  }

  static async create(options: SipEndpointOptions = {}): Promise<SipEndpoint> {
    const guard = options.guard === false ? undefined : options.guard instanceof SipGuard ? options.guard : new SipGuard(options.guard ?? {});
    const { guard: _guardOption, maxPendingTransactions: _maxPending, ...transportOptions } = options;
    const transport = await SipTransport.listen({ ...transportOptions, ...(guard ? { guard } : {}) });
    return new SipEndpoint(transport, guard, options);
  }

  get ports(): SipTransport['ports'] {
    return this.transport.ports;
  }

  get dialogCount(): number {
    return this.dialogs.size;
  }

  onInvite(handler: InviteHandler): void {
    this.inviteHandler = handler;
  }

  /** A SIP URI that reaches this endpoint over the given transport. */
  uri(user: string, transport: TransportName = 'UDP'): string {
    const t = transport === 'UDP' ? '' : `;transport=${transport.toLowerCase()}`;
    return `sip:${user}@${this.transport.advertisedAddress}:${this.transport.localPort(transport)}${t}`;
  }

  /** A Warning header (RFC 3261 20.43) with this endpoint's address as the warn-agent. */
  warning(code: number, text: string): readonly [string, string] {
    return ['Warning', formatWarning(code, this.transport.advertisedAddress, text)];
  }

  private contact(transport: TransportName): string {
    return `<${this.uri(this.contactUser, transport)}>`;
  }

  // ------------------------------------------------------------ DialogHost

  decorate(req: SipRequest, transport: TransportName): void {
    req.headers.prepend('Via', this.transport.viaFor(transport, newBranch()));
    if (req.method !== 'ACK' && req.method !== 'CANCEL' && !req.headers.has('contact')) req.headers.append('Contact', this.contact(transport));
    if (!req.headers.has('user-agent')) req.headers.append('User-Agent', this.userAgent);
  }

  request(req: SipRequest, target: SipPeer, hooks: RequestHooks = {}): Promise<SipResponse> {
    return new Promise((resolve) => {
      this.transactions.sendRequest(req, target, {
        onResponse: (res) => { if (res.status < 200) hooks.onProvisional?.(res); else resolve(res); },
        ...(hooks.onSent ? { onSent: () => hooks.onSent?.() } : {}),
        onTimeout: (_tx, why) => resolve(createResponseTo(req, why === 'timeout' ? 408 : 503, why === 'timeout' ? 'Request Timeout' : 'Transport Error')),
      });
    });
  }

  sendAck(ack: SipRequest, target: SipPeer): void {
    this.transport.send(ack, target).catch(() => undefined);
  }

  dialogEnded(dialog: Dialog): void {
    this.dialogs.delete(dialog.id);
  }

  // ------------------------------------------------------------ incoming

  private onResponse(res: SipResponse): void {
    if (this.transactions.receiveResponse(res)) return;
    // A retransmitted 2xx to an INVITE whose transaction is gone: ACK it again (RFC 3261 13.2.2.4).
    const cseq = parseCSeq(res.headers.get('cseq') ?? '');
    if (cseq?.method !== 'INVITE' || res.status < 200 || res.status >= 300) return;
    const dialog = this.dialogs.get(dialogKey(res.headers.get('call-id') ?? '', tagOf(res.headers.get('from')) ?? '', tagOf(res.headers.get('to')) ?? ''));
    if (dialog?.lastAck) this.sendAck(dialog.lastAck, dialog.nextHop());
  }

  private onRequest(req: SipRequest, source: SipPeer): void {
    if (this.closed) return;
    const toTag = tagOf(req.headers.get('to'));
    const routed = this.transactions.receiveRequest(req, source, Boolean(toTag && this.findDialog(req)));
    if (!routed) return;
    if ('overloaded' in routed) {
      // Too many unadmitted transactions: answer without keeping state, so a retransmission costs one
      // reply and nothing more, and a real carrier fails over now instead of after timer B (32 s).
      const busy = createResponseTo(req, 503, 'Service Unavailable', { toTag: newTag(), headers: [['Retry-After', String(OVERLOAD_RETRY_AFTER_S)]] });
      void this.transport.sendResponse(busy, source).catch(() => undefined);
      return;
    }
    if ('ack' in routed) {
      const dialog = this.findDialog(req);
      if (dialog) dialog.emit('ack', req);
      return;
    }
    const tx = routed.tx;
    const respond = (status: number, reason?: string, headers?: Array<readonly [string, string]>, body?: string) =>
      tx.respond(createResponseTo(req, status, reason, { toTag: req.headers.get('to') && tagOf(req.headers.get('to')) ? undefined : newTag(), ...(headers ? { headers } : {}), ...(body !== undefined ? { body } : {}) }));

    const insane = checkRequestSanity(req);
    if (insane) return respond(insane.status, insane.reason);
    const required = req.headers.getList('require').filter((o) => !SUPPORTED_EXTENSIONS.includes(o.toLowerCase()));
    if (required.length && req.method !== 'CANCEL' && req.method !== 'ACK') return respond(420, 'Bad Extension', [['Unsupported', required.join(', ')]]);

    switch (req.method) {
      case 'OPTIONS':
        if (this.draining) return respond(503, DRAINING_REASON, [['Retry-After', String(OVERLOAD_RETRY_AFTER_S)]]);
        return respond(200, 'OK', [['Allow', ALLOWED_METHODS.join(', ')], ['Accept', 'application/sdp'], ['Supported', SUPPORTED_EXTENSIONS.join(', ')], ['User-Agent', this.userAgent]]);
      case 'CANCEL': {
        const invite = this.transactions.findInviteForCancel(req);
        if (!invite || invite.state !== 'proceeding') return respond(481, 'Call/Transaction Does Not Exist');
        respond(200, 'OK');
        invite.respond(createResponseTo(invite.request, 487, 'Request Terminated', { toTag: invite.lastResponse ? tagOf(invite.lastResponse.headers.get('to')) ?? newTag() : newTag() }));
        this.cancelControllers.get(invite)?.abort();
        return;
      }
      case 'INVITE':
        if (toTag) return this.onReinvite(req, tx, respond);
        return this.onNewInvite(req, source, tx);
      case 'BYE': case 'INFO': case 'NOTIFY': case 'REFER': {
        const dialog = toTag ? this.findDialog(req) : undefined;
        if (!dialog) return respond(481, 'Call/Transaction Does Not Exist');
        const seq = parseCSeq(req.headers.get('cseq') ?? '')!.seq;
        if (seq <= dialog.remoteSeq && dialog.remoteSeq > 0) return respond(500, 'CSeq Out of Order');
        dialog.remoteSeq = seq;
        if (req.method === 'BYE') {
          respond(200, 'OK');
          dialog.terminate('remote bye');
          dialog.emit('bye', req);
        } else if (req.method === 'INFO') {
          respond(200, 'OK');
          dialog.emit('info', req);
        } else if (req.method === 'NOTIFY') {
          respond(200, 'OK');
          dialog.handleNotify(req);
        } else {
          const referTo = req.headers.get('refer-to');
          const target = referTo ? parseNameAddr(referTo) : null;
          if (!target) return respond(400, 'Missing Refer-To');
          respond(202, 'Accepted');
          const notify = dialog.referNotifier();
          void notify(100, 'Trying').catch(() => undefined);
          if (dialog.listenerCount('refer') === 0) void notify(603, 'Declined').catch(() => undefined);
          else dialog.emit('refer', { request: req, target: formatUri(target.uri), notify });
        }
        return;
      }
      default:
        if (toTag) return respond(481, 'Call/Transaction Does Not Exist');
        if (KNOWN_UNSUPPORTED.includes(req.method)) return respond(405, 'Method Not Allowed', [['Allow', ALLOWED_METHODS.join(', ')]]);
        return respond(501, 'Not Implemented', [['Allow', ALLOWED_METHODS.join(', ')]]);
    }
  }

  private findDialog(req: SipRequest): Dialog | undefined {
    return this.dialogs.get(dialogKey(req.headers.get('call-id') ?? '', tagOf(req.headers.get('to')) ?? '', tagOf(req.headers.get('from')) ?? ''));
  }

  private onReinvite(req: SipRequest, tx: ServerTransaction, respond: (s: number, r?: string, h?: Array<readonly [string, string]>) => void): void {
    const dialog = this.findDialog(req);
    if (!dialog) return respond(481, 'Call/Transaction Does Not Exist');
    const seq = parseCSeq(req.headers.get('cseq') ?? '')!.seq;
    if (seq <= dialog.remoteSeq) return respond(500, 'CSeq Out of Order');
    dialog.remoteSeq = seq;
    const offer = req.body.length ? req.body.toString() : '';
    const contact = req.headers.get('contact');
    const target = contact ? parseNameAddr(contact) : null;
    if (target) dialog.remoteTarget = formatUri(target.uri);
    void (async () => {
      let answer: ReinviteAnswer;
      try {
        answer = dialog.onReinvite ? await dialog.onReinvite(offer, req) : dialog.localSdp;
      } catch { answer = undefined; }
      if (typeof answer !== 'string') {
        // Every 488 says why (RFC 3261 20.43); 399 when the handler gave no reason.
        const warning = answer?.warning ?? { code: 399, text: 'Offer not acceptable' };
        return respond(488, 'Not Acceptable Here', [this.warning(warning.code, warning.text)]);
      }
      if (offer) dialog.remoteSdp = offer;
      dialog.localSdp = answer;
      tx.respond(createResponseTo(req, 200, 'OK', { headers: [['Contact', this.contact(dialog.transport)], ['Content-Type', 'application/sdp']], body: answer }));
    })();
  }

  private onNewInvite(req: SipRequest, source: SipPeer, tx: ServerTransaction): void {
    if (this.draining) {
      tx.respond(createResponseTo(req, 503, DRAINING_REASON, { toTag: newTag(), headers: [['Retry-After', String(OVERLOAD_RETRY_AFTER_S)]] }));
      return;
    }
    const contentType = req.headers.get('content-type');
    if (req.body.length && contentType && !/^\s*application\/sdp\s*(;|$)/i.test(contentType) && !/^\s*multipart\//i.test(contentType)) {
      tx.respond(createResponseTo(req, 415, 'Unsupported Media Type', { toTag: newTag(), headers: [['Accept', 'application/sdp']] }));
      return;
    }
    if (!this.inviteHandler) {
      tx.respond(createResponseTo(req, 480, 'Temporarily Unavailable', { toTag: newTag() }));
      return;
    }
    const controller = new AbortController();
    this.cancelControllers.set(tx, controller);
    const localTag = newTag();
    const call = this.makeIncomingCall(req, source, tx, localTag, controller.signal);
    tx.onAckTimeout = () => {
      // No ACK for our 2xx: the call never really started (RFC 3261 13.3.1.4): hang up.
      const d = this.dialogs.get(dialogKey(req.headers.get('call-id') ?? '', localTag, tagOf(req.headers.get('from')) ?? ''));
      if (d && d.state !== 'terminated') void d.bye(); // never rejects; a failure is emitted as 'byeFailed' (the call's owner logs it)
    };
    Promise.resolve()
      .then(() => this.inviteHandler!(call))
      .catch(() => { if (tx.state === 'proceeding') tx.respond(createResponseTo(req, 500, 'Server Internal Error', { toTag: localTag })); });
  }

  private makeIncomingCall(req: SipRequest, source: SipPeer, tx: ServerTransaction, localTag: string, cancelled: AbortSignal): IncomingCall {
    const endpoint = this;
    const dialogTransport: TransportName = source.transport;
    const sdpHeaders = (sdp?: string): Array<readonly [string, string]> => (sdp ? [['Content-Type', 'application/sdp']] : []);
    const finalSent = () => tx.state !== 'proceeding';
    return {
      request: req,
      source,
      cancelled,
      offer: req.body.length ? req.body.toString() : undefined,
      progress(code = 180, sdp) {
        if (finalSent() || code < 101 || code > 199) return;
        const headers: Array<readonly [string, string]> = [['Contact', endpoint.contact(dialogTransport)], ...sdpHeaders(sdp)];
        for (const rr of req.headers.getAll('record-route')) headers.push(['Record-Route', rr]);
        tx.respond(createResponseTo(req, code, undefined, { toTag: localTag, headers, ...(sdp ? { body: sdp } : {}) }));
      },
      accept(sdpAnswer, extraHeaders = []) {
        if (finalSent()) throw new SipCallError(487, 'the INVITE was already answered or cancelled');
        const headers: Array<readonly [string, string]> = [];
        for (const rr of req.headers.getAll('record-route')) headers.push(['Record-Route', rr]);
        headers.push(['Contact', endpoint.contact(dialogTransport)], ['Allow', ALLOWED_METHODS.join(', ')], ['Supported', SUPPORTED_EXTENSIONS.join(', ')], ...sdpHeaders(sdpAnswer), ...extraHeaders);
        const contact = req.headers.get('contact');
        const remoteTarget = contact ? parseNameAddr(contact) : null;
        const dialog = new Dialog(endpoint, {
          role: 'uas',
          callId: req.headers.get('call-id') ?? '',
          localTag,
          remoteTag: tagOf(req.headers.get('from')) ?? '',
          localUri: stripTag(req.headers.get('to') ?? ''),
          remoteUri: stripTag(req.headers.get('from') ?? ''),
          remoteTarget: remoteTarget ? formatUri(remoteTarget.uri) : `sip:${source.address}:${source.port}`,
          routeSet: req.headers.getList('record-route'),
          localSeq: Math.floor(Math.random() * 10_000) + 1,
          remoteSeq: parseCSeq(req.headers.get('cseq') ?? '')?.seq ?? 0,
          transport: dialogTransport,
          fallbackPeer: source,
          ...(source.transport !== 'UDP' ? { connection: source } : {}),
          localSdp: sdpAnswer,
          ...(req.body.length ? { remoteSdp: req.body.toString() } : {}),
        });
        endpoint.dialogs.set(dialog.id, dialog);
        tx.respond(createResponseTo(req, 200, 'OK', { toTag: localTag, headers, body: sdpAnswer }));
        return dialog;
      },
      reject(code, reason, extraHeaders = []) {
        if (finalSent()) return;
        tx.respond(createResponseTo(req, code, reason, { toTag: localTag, headers: extraHeaders }));
      },
      challenge(server, options = {}) {
        if (finalSent()) return;
        const c = server.challenge(options);
        tx.respond(createResponseTo(req, options.proxy ? 407 : 401, undefined, { toTag: localTag, headers: c.values.map((v) => [c.name, v] as const) }));
      },
      verifyCredentials(server, lookup, options = {}) {
        return server.verify({ method: req.method, uri: req.uri, authorization: req.headers.get(options.proxy ? 'proxy-authorization' : 'authorization') }, lookup,
          options.algorithms ? { algorithms: options.algorithms } : {});
      },
    };
  }

  // ------------------------------------------------------------ outgoing

  private targetFor(uriText: string, override?: TransportName): SipPeer {
    const uri = parseUri(uriText);
    if (!uri || !isSipUri(uri)) throw new Error(`cannot route to ${uriText}`);
    const peer = peerForUri(uri, 'UDP');
    return override ? { ...peer, transport: override, port: uri.port ?? (override === 'TLS' ? 5061 : 5060) } : peer;
  }

  /** Sends OPTIONS (a ping) and resolves with the final response. */
  async options(uri: string, transport?: TransportName): Promise<SipResponse> {
    const target = this.targetFor(uri, transport);
    const req = createRequest('OPTIONS', uri, [['Max-Forwards', '70'], ['From', `<sip:${this.contactUser}@${this.transport.advertisedAddress}>;tag=${newTag()}`], ['To', `<${uri}>`], ['Call-ID', randomBytes(12).toString('hex')], ['CSeq', '1 OPTIONS'], ['Accept', 'application/sdp']]);
    this.decorate(req, target.transport);
    return this.request(req, target);
  }

  /** Places a call; resolves with the confirmed Dialog, rejects with SipCallError. */
  invite(options: InviteOptions): Promise<Dialog> {
    const target = this.targetFor(options.uri, options.transport);
    const callId = `${randomBytes(12).toString('hex')}@${this.transport.advertisedAddress}`;
    const fromTag = newTag();
    const fromValue = `<${options.from}>`;
    const toValue = `<${options.to ?? options.uri}>`;
    let seq = 1;
    let authTries = 0;

    const build = (authHeader?: readonly [string, string]): SipRequest => {
      const h = new SipHeaders([
        ['Max-Forwards', '70'], ['From', `${fromValue};tag=${fromTag}`], ['To', toValue], ['Call-ID', callId], ['CSeq', `${seq} INVITE`],
        ['Allow', ALLOWED_METHODS.join(', ')],
      ]);
      for (const [n, v] of options.headers ?? []) h.append(n, v);
      if (authHeader) h.append(authHeader[0], authHeader[1]);
      if (options.sdp !== undefined) h.append('Content-Type', 'application/sdp');
      const req = createRequest('INVITE', options.uri, h, options.sdp ?? '');
      this.decorate(req, target.transport);
      return req;
    };

    return new Promise<Dialog>((resolve, reject) => {
      let settled = false;
      let current: SipRequest = build();
      let gotProvisional = false;
      let cancelSent = false;
      let timer: NodeJS.Timeout | undefined;
      const finish = (err: Error | undefined, dialog?: Dialog) => {
        if (settled) return;
        settled = true;
        if (timer) clearTimeout(timer);
        options.signal?.removeEventListener('abort', onAbort);
        if (err) reject(err); else resolve(dialog!);
      };
      const sendCancel = () => {
        if (cancelSent || settled) return;
        cancelSent = true;
        const h = new SipHeaders([
          ['Via', current.headers.getList('via')[0] ?? ''], ['Max-Forwards', '70'], ['From', current.headers.get('from') ?? ''],
          ['To', current.headers.get('to') ?? ''], ['Call-ID', callId], ['CSeq', `${seq} CANCEL`],
        ]);
        for (const r of current.headers.getAll('route')) h.append('Route', r);
        const cancel = createRequest('CANCEL', current.uri, h);
        void this.request(cancel, target);
      };
      const onAbort = () => { if (gotProvisional) sendCancel(); else finish(new SipCallError(487, 'cancelled before any answer')); };
      options.signal?.addEventListener('abort', onAbort, { once: true });
      timer = setTimeout(() => {
        if (gotProvisional) sendCancel();
        else finish(new SipCallError(408, 'no answer'));
      }, options.timeoutMs ?? 32_000);

      const handlers = {
        onResponse: (res: SipResponse) => {
          if (res.status < 200) {
            gotProvisional = true;
            if (cancelSent || settled) return;
            options.onProgress?.(res);
            if (res.body.length && tagOf(res.headers.get('to'))) options.onEarlyMedia?.(res.body.toString(), res);
            if (options.signal?.aborted) sendCancel();
            return;
          }
          if (res.status < 300) {
            const dialog = this.dialogFromResponse(current, res, target);
            dialog.sendAckFor(current, res);
            if (settled) { void dialog.bye(); return; } // answered after we gave up (bye() never rejects)
            finish(undefined, dialog);
            return;
          }
          if ((res.status === 401 || res.status === 407) && options.auth && authTries < 2 && !cancelSent && !settled) {
            const challenge = pickChallenge(res.headers.getAll(res.status === 401 ? 'www-authenticate' : 'proxy-authenticate'));
            if (challenge && (authTries === 0 || challenge.stale)) {
              authTries++;
              seq++;
              const value = buildAuthorization(challenge, { method: 'INVITE', uri: options.uri, username: options.auth.username, password: options.auth.password });
              current = build([res.status === 401 ? 'Authorization' : 'Proxy-Authorization', value]);
              this.transactions.sendRequest(current, target, handlers);
              return;
            }
          }
          finish(new SipCallError(res.status, res.reason, res));
        },
        onTimeout: (_tx: unknown, why: 'timeout' | 'transport') => finish(new SipCallError(why === 'timeout' ? 408 : 503, why === 'timeout' ? 'Request Timeout' : 'Transport Error')),
      };
      this.transactions.sendRequest(current, target, handlers);
    });
  }

  private dialogFromResponse(invite: SipRequest, res: SipResponse, target: SipPeer): Dialog {
    const contact = res.headers.get('contact');
    const remoteTarget = contact ? parseNameAddr(contact) : null;
    const id = dialogKey(res.headers.get('call-id') ?? '', tagOf(res.headers.get('from')) ?? '', tagOf(res.headers.get('to')) ?? '');
    const existing = this.dialogs.get(id);
    if (existing) return existing;
    const connectionId = this.transport.connectionTo(target);
    const dialog = new Dialog(this, {
      role: 'uac',
      callId: res.headers.get('call-id') ?? '',
      localTag: tagOf(res.headers.get('from')) ?? '',
      remoteTag: tagOf(res.headers.get('to')) ?? '',
      localUri: stripTag(invite.headers.get('from') ?? ''),
      remoteUri: stripTag(res.headers.get('to') ?? ''),
      remoteTarget: remoteTarget ? formatUri(remoteTarget.uri) : invite.uri,
      routeSet: res.headers.getList('record-route').reverse(),
      localSeq: parseCSeq(invite.headers.get('cseq') ?? '')?.seq ?? 1,
      remoteSeq: 0,
      transport: target.transport,
      fallbackPeer: target,
      ...(connectionId !== undefined ? { connection: { ...target, connectionId } } : {}),
      ...(invite.body.length ? { localSdp: invite.body.toString() } : {}),
      ...(res.body.length ? { remoteSdp: res.body.toString() } : {}),
    });
    this.dialogs.set(dialog.id, dialog);
    return dialog;
  }

  /** Stops timers, forgets dialogs, closes sockets. */
  /** Stops taking new calls (OPTIONS and new INVITEs get 503); calls in progress go on. Cannot be undone. */
  drain(): void {
    this.isDraining = true;
  }

  get draining(): boolean {
    return this.isDraining;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.transactions.close();
    for (const d of [...this.dialogs.values()]) d.terminate('endpoint closed');
    await this.transport.close();
  }
}
