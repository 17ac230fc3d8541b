/**
 * SIP dialog (RFC 3261 section 12): identifiers, route set, CSeq counters and
 * the mid-call requests a voice agent needs: BYE, re-INVITE, INFO and
 * REFER with its NOTIFY (RFC 3515, message/sipfrag progress).
 *
 * A dialog set up over TCP or TLS sends its in-dialog requests over the
 * connection it was set up on while that is open (RFC 5923-style reuse; RFC
 * 3261 allows it): that connection leads to the previous hop (the caller, or
 * the proxy it came through), which is what a caller behind NAT or with a
 * certificate we do not trust can be reached by. Only once it has closed do
 * requests go to a new connection to the route set or remote target.
 */
import { EventEmitter } from 'node:events';
import { parseCSeq, parseNameAddr } from './header-values.ts';
import { createRequest, SipHeaders, type SipRequest, type SipResponse } from './message.ts';
import { peerForUri, type SipPeer, type TransportName } from './transport.ts';
import { formatUri, isSipUri, parseUri } from './uri.ts';

export type DialogState = 'early' | 'confirmed' | 'terminated';
/** Why a dialog ended: our BYE, theirs, or the endpoint closing under it. */
export type DialogEndReason = 'local bye' | 'remote bye' | 'endpoint closed';

/** Why a re-INVITE's offer is refused: the Warning (RFC 3261 20.43) its 488 carries. */
export interface ReinviteRefusal {
  warning: { code: number; text: string };
}

/** A re-INVITE handler's answer: the SDP answer, or a refusal (undefined: refused without a stated reason). */
export type ReinviteAnswer = string | ReinviteRefusal | undefined;

/** What a dialog needs from its endpoint. */
export interface RequestHooks {
  onProvisional?: (res: SipResponse) => void;
  /** The request's first transmission left (handed to the socket). */
  onSent?: () => void;
}

export interface DialogHost {
  /** Sends a request in a new client transaction and resolves with the final response. */
  request(req: SipRequest, target: SipPeer, hooks?: RequestHooks): Promise<SipResponse>;
  /** Sends an ACK for a 2xx (no transaction). */
  sendAck(ack: SipRequest, target: SipPeer): void;
  /** Fills Via (with a new branch), Contact and User-Agent on an outgoing request. */
  decorate(req: SipRequest, transport: TransportName): void;
  dialogEnded(dialog: Dialog): void;
}

export interface IncomingRefer {
  request: SipRequest;
  /** The Refer-To URI. */
  target: string;
  /** Sends a NOTIFY with a sipfrag status line; a final status (>= 200) ends the subscription. */
  notify(status: number, reason: string): Promise<void>;
}

export interface DialogEvents {
  /** The peer hung up (the 200 to its BYE is sent automatically). */
  bye: [request: SipRequest];
  /** The ACK for our 2xx arrived (UAS side). */
  ack: [request: SipRequest];
  info: [request: SipRequest];
  refer: [refer: IncomingRefer];
  /** A NOTIFY for a REFER we sent (sipfrag status). */
  referProgress: [status: number, reason: string];
  terminated: [reason: DialogEndReason];
  /** Our BYE got no 2xx: a failure status, or 408/503 when no answer came or the transport failed (the dialog is over regardless). */
  byeFailed: [status: number];
}

export interface DialogInit {
  role: 'uac' | 'uas';
  callId: string;
  localTag: string;
  remoteTag: string;
  /** From/To values without tags: our identity and the peer's. */
  localUri: string;
  remoteUri: string;
  remoteTarget: string;
  routeSet: string[];
  localSeq: number;
  remoteSeq: number;
  transport: TransportName;
  /** Where in-dialog requests go when the route set and target give no usable address. */
  fallbackPeer: SipPeer;
  /** The stream connection the dialog was set up on (its transport and connectionId), reused while open. */
  connection?: SipPeer;
  localSdp?: string;
  remoteSdp?: string;
}

export class Dialog extends EventEmitter<DialogEvents> {
  readonly role: 'uac' | 'uas';
  readonly callId: string;
  readonly localTag: string;
  readonly remoteTag: string;
  readonly localUri: string;
  readonly remoteUri: string;
  remoteTarget: string;
  readonly routeSet: string[];
  localSeq: number;
  remoteSeq: number;
  readonly transport: TransportName;
  state: DialogState = 'confirmed';
  localSdp: string | undefined;
  remoteSdp: string | undefined;
  /**
   * Answers a re-INVITE: return the new SDP answer, or a refusal (or
   * undefined) to refuse with 488 and the refusal's Warning. Without a handler
   * the current local SDP is sent again.
   */
  onReinvite: ((offer: string, request: SipRequest) => ReinviteAnswer | Promise<ReinviteAnswer>) | undefined;
  private readonly fallbackPeer: SipPeer;
  private readonly connection: SipPeer | undefined;
  /** ACK of the last 2xx we acknowledged (UAC), re-sent when the 2xx is retransmitted. */
  lastAck: SipRequest | undefined;
  private pendingReferResolve: ((status: number) => void) | undefined;

  constructor(private readonly host: DialogHost, init: DialogInit) {
    super();
    this.role = init.role;
    this.callId = init.callId;
    this.localTag = init.localTag;
    this.remoteTag = init.remoteTag;
    this.localUri = init.localUri;
    this.remoteUri = init.remoteUri;
    this.remoteTarget = init.remoteTarget;
    this.routeSet = init.routeSet;
    this.localSeq = init.localSeq;
    this.remoteSeq = init.remoteSeq;
    this.transport = init.transport;
    this.fallbackPeer = init.fallbackPeer;
    this.connection = init.connection;
    this.localSdp = init.localSdp;
    this.remoteSdp = init.remoteSdp;
  }

  /** Dialog id as the endpoint indexes it: Call-ID, local tag, remote tag. */
  get id(): string {
    return dialogKey(this.callId, this.localTag, this.remoteTag);
  }

  /**
   * Where the next in-dialog request goes: first loose route, else the remote
   * target; over the dialog's own connection while it is open (the transport
   * falls back to the address when that connection has closed).
   */
  nextHop(): SipPeer {
    const hop = this.addressedHop();
    const connectionId = this.connection?.connectionId;
    return connectionId !== undefined && this.connection!.transport === hop.transport ? { ...hop, connectionId } : hop;
  }

  private addressedHop(): SipPeer {
    const first = this.routeSet[0];
    const uriText = first ? parseNameAddr(first) && formatUri(parseNameAddr(first)!.uri) : this.remoteTarget;
    const uri = uriText ? parseUri(uriText) : null;
    if (uri && isSipUri(uri)) return peerForUri(uri, this.transport);
    return this.fallbackPeer;
  }

  /** Builds an in-dialog request (RFC 3261 12.2.1.1) with the next local CSeq (ACK reuses the INVITE's). */
  createRequest(method: string, options: { body?: string | Buffer; contentType?: string; headers?: Array<readonly [string, string]>; cseq?: number } = {}): SipRequest {
    const h = new SipHeaders();
    for (const r of this.routeSet) h.append('Route', r);
    h.append('Max-Forwards', '70');
    h.append('From', `${this.localUri};tag=${this.localTag}`);
    h.append('To', `${this.remoteUri};tag=${this.remoteTag}`);
    h.append('Call-ID', this.callId);
    const seq = options.cseq ?? ++this.localSeq;
    h.append('CSeq', `${seq} ${method}`);
    for (const [n, v] of options.headers ?? []) h.append(n, v);
    if (options.body !== undefined) h.append('Content-Type', options.contentType ?? 'application/sdp');
    const req = createRequest(method, this.remoteTarget, h, options.body ?? Buffer.alloc(0));
    return req;
  }

  private async send(req: SipRequest, hooks?: RequestHooks): Promise<SipResponse> {
    const hop = this.nextHop();
    this.host.decorate(req, hop.transport);
    return this.host.request(req, hop, hooks);
  }

  /**
   * Hangs up: ends the dialog and sends BYE (retransmitted over UDP by its
   * transaction, RFC 3261 17.1.2); resolves with its final status, 408 or 503
   * when none came. Never rejects: a failure is also emitted as 'byeFailed'.
   * `onSent` fires once the BYE has left (its first transmission reached the
   * socket): the point after which the transport may close.
   */
  async bye(hooks: Pick<RequestHooks, 'onSent'> = {}): Promise<number> {
    if (this.state === 'terminated') return 481;
    this.terminate('local bye');
    let status: number;
    try {
      status = (await this.send(this.createRequest('BYE'), hooks)).status;
    } catch {
      status = 503; // could not even be sent (e.g. no listener for the hop's transport)
    }
    if (status >= 300) this.emit('byeFailed', status);
    return status;
  }

  /** Sends a re-INVITE with a new offer; resolves with the answer SDP (rejects on a non-2xx). */
  async reinvite(sdp: string): Promise<string> {
    const req = this.createRequest('INVITE', { body: sdp });
    const res = await this.send(req);
    if (res.status >= 300) throw new Error(`re-INVITE refused: ${res.status} ${res.reason}`);
    this.sendAckFor(req, res);
    this.localSdp = sdp;
    if (res.body.length) this.remoteSdp = res.body.toString();
    return this.remoteSdp ?? '';
  }

  /** ACK for a 2xx to an INVITE of this dialog (same CSeq number, new branch). */
  sendAckFor(invite: SipRequest, res: SipResponse): void {
    const contact = res.headers.get('contact');
    const target = contact ? parseNameAddr(contact) : null;
    if (target) this.remoteTarget = formatUri(target.uri);
    const seq = parseCSeq(invite.headers.get('cseq') ?? '')?.seq ?? this.localSeq;
    const ack = this.createRequest('ACK', { cseq: seq });
    const hop = this.nextHop();
    this.host.decorate(ack, hop.transport);
    this.lastAck = ack;
    this.host.sendAck(ack, hop);
  }

  /** Sends INFO (e.g. application/dtmf-relay); resolves with its final status. */
  async info(body: string, contentType: string): Promise<number> {
    return (await this.send(this.createRequest('INFO', { body, contentType }))).status;
  }

  /**
   * Blind transfer: REFER to `targetUri`; resolves with the final status the
   * transferee reports in its NOTIFY sipfrag (or the REFER's own failure).
   */
  async refer(targetUri: string, timeoutMs = 32_000): Promise<number> {
    const done = new Promise<number>((resolve) => {
      this.pendingReferResolve = resolve;
      setTimeout(() => resolve(408), timeoutMs).unref();
    });
    const res = await this.send(this.createRequest('REFER', { headers: [['Refer-To', `<${targetUri}>`], ['Referred-By', this.localUri]] }));
    if (res.status >= 300) { this.pendingReferResolve = undefined; return res.status; }
    return done;
  }

  /** Endpoint hook: an in-dialog NOTIFY for our REFER. */
  handleNotify(req: SipRequest): void {
    const frag = /^SIP\/2\.0 (\d{3}) ?(.*)$/m.exec(req.body.toString());
    if (!frag) return;
    const status = Number(frag[1]);
    this.emit('referProgress', status, frag[2]!.trim());
    if (status >= 200 || /terminated/i.test(req.headers.get('subscription-state') ?? '')) {
      const resolve = this.pendingReferResolve;
      this.pendingReferResolve = undefined;
      resolve?.(status);
    }
  }

  /** Builds the NOTIFY function handed to an incoming REFER's listener. */
  referNotifier(): (status: number, reason: string) => Promise<void> {
    return async (status, reason) => {
      if (this.state === 'terminated') return;
      const final = status >= 200;
      await this.send(this.createRequest('NOTIFY', {
        body: `SIP/2.0 ${status} ${reason}\r\n`, contentType: 'message/sipfrag;version=2.0',
        headers: [['Event', 'refer'], ['Subscription-State', final ? 'terminated;reason=noresource' : 'active;expires=60']],
      }));
    };
  }

  /** Marks the dialog ended (the endpoint forgets it). */
  terminate(reason: DialogEndReason): void {
    if (this.state === 'terminated') return;
    this.state = 'terminated';
    this.host.dialogEnded(this);
    this.emit('terminated', reason);
  }
}

export function dialogKey(callId: string, localTag: string, remoteTag: string): string {
  return `${callId}|${localTag}|${remoteTag}`;
}
