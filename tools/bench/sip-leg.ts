/**
 * The benchmark's SIP way in: an INVITE over media/sip offering PCMU, RTP
 * over media/rtp (the session paces and sends the caller's frames on the
 * benchmark's pacer), each raw RTP datagram of the agent tapped with its
 * arrival time before any parsing or jitter buffer, and the server's RTCP
 * report blocks about our stream.
 */
import { performance } from 'node:perf_hooks';
import { looksLikeRtcp, parseRtp, PortAllocator, RtpSession, type Pacer, type SocketPair } from '../../media/rtp/index.ts';
import { createOffer, readAnswer } from '../../media/sdp/index.ts';
import type { Dialog, SipEndpoint } from '../../media/sip/index.ts';
import type { CallerLeg, LegEvents } from './caller-leg.ts';
import { g711FrameDbfs } from './voice.ts';

/** At most this many payload bytes are metered for voice. */
const MAX_METERED_BYTES = 160 * 4;

/**
 * A PortAllocator that lets the call see each raw RTP datagram with its
 * arrival time, before RtpSession does: the socket's first listener, and the
 * clock is read first thing in it, before any parsing.
 */
class TappedPorts extends PortAllocator {
  constructor(private readonly tap: (msg: Buffer, at: number) => void) {
    super();
  }

  override async allocate(address: string): Promise<SocketPair> {
    const pair = await super.allocate(address);
    pair.rtp.prependListener('message', (msg: Buffer) => {
      const at = performance.now();
      this.tap(msg, at);
    });
    return pair;
  }
}

export interface SipLegOptions {
  endpoint: SipEndpoint;
  pacer: Pacer;
  /** sip:host:port of the server. */
  target: string;
  number: string;
  bindAddress: string;
  inviteTimeoutMs?: number;
}

export class SipLeg implements CallerLeg {
  readonly transport = 'sip' as const;
  private session: RtpSession | undefined;
  private dialog: Dialog | undefined;
  private payloadType = -1;
  private events: LegEvents | undefined;

  constructor(private readonly options: SipLegOptions) {}

  async connect(events: LegEvents, signal?: AbortSignal): Promise<void> {
    const o = this.options;
    this.events = events;
    this.session = await RtpSession.open({
      bindAddress: o.bindAddress, codec: { name: 'PCMU', payloadType: 0 }, pacer: o.pacer, receive: false, inactivityTimeoutMs: 0,
      ports: new TappedPorts((msg, at) => this.onPacket(msg, at)),
    });
    const session = this.session;
    session.on('error', () => undefined);
    session.on('rtcp', (packets) => {
      for (const packet of packets) {
        if (packet.type !== 'sr' && packet.type !== 'rr') continue;
        for (const block of packet.reports) {
          if (block.ssrc !== session.ssrc) continue;
          events.serverReport?.({ cumulativeLost: block.cumulativeLost, extendedHighestSeq: block.extendedHighestSeq, jitterMs: block.jitter / 8 });
        }
      }
    });
    const local = { address: o.bindAddress, port: session.localPort, codecs: ['PCMU'] as const };
    const host = new URL(o.target.replace(/^sips?:/, 'http://')).host;
    this.dialog = await o.endpoint.invite({
      uri: `sip:${o.number}@${host}`, from: `sip:bench@${o.bindAddress}`, sdp: createOffer(local), timeoutMs: o.inviteTimeoutMs ?? 10_000,
      ...(signal ? { signal } : {}),
    });
    const answer = readAnswer(this.dialog.remoteSdp ?? '', local);
    if (!answer.ok) throw new Error(`unusable SDP answer (${answer.reason})`);
    this.payloadType = answer.codec.payloadType;
    session.setRemote({ address: answer.remote.address, port: answer.remote.port, rtcpPort: answer.remote.rtcpPort });
    this.dialog.once('bye', () => events.hungUp());
  }

  sendFrame(pcm: Int16Array): void {
    this.session?.sendFrame(pcm);
  }

  get queuedMs(): number {
    return this.session?.queuedMs ?? 0;
  }

  get packetsOut(): number {
    return this.session?.stats.packetsOut ?? 0;
  }

  async hangup(): Promise<void> {
    const session = this.session;
    if (!this.dialog || !session) return;
    // The server's last RTCP report comes with its BYE handling: wait a moment for it.
    const gotFinalReport = new Promise<void>((resolve) => { session.once('bye', () => resolve()); setTimeout(resolve, 300).unref(); });
    await this.dialog.bye().catch(() => undefined);
    await gotFinalReport;
  }

  async close(): Promise<void> {
    if (this.dialog && this.dialog.state !== 'terminated') await this.dialog.bye().catch(() => undefined);
    await this.session?.close('bench call over');
    this.session = undefined;
  }

  private onPacket(msg: Buffer, at: number): void {
    if (looksLikeRtcp(msg)) return;
    const parsed = parseRtp(msg);
    if (!parsed.ok) return;
    const p = parsed.packet;
    if (p.payloadType !== this.payloadType) return;
    // Per packet, no allocation: the level straight from the G.711 bytes.
    const payload = p.payload;
    this.events?.agent({
      at, dbfs: g711FrameDbfs('mulaw', payload, Math.min(payload.length, MAX_METERED_BYTES)), mulaw: payload,
      rtp: { sequenceNumber: p.sequenceNumber, timestamp: p.timestamp, marker: p.marker, clockRate: 8000 },
    });
  }
}
