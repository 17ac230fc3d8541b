/**
 * The project's own caller for checks SIPp cannot make: a SipEndpoint as UAC
 * plus a raw UDP socket as its RTP leg, recording every packet the server
 * sends (arrival time, header fields) and sending paced PCMU/PCMA frames and
 * RFC 4733 keypad digits (telephone-event, payload type 101 as offered).
 */
import { createSocket, type Socket } from 'node:dgram';
import { performance } from 'node:perf_hooks';
import { SipEndpoint, type Dialog, type InviteOptions } from '../../../media/sip/index.ts';
import { dtmfPacketSequence, parseRtp, serializeRtp } from '../../../media/rtp/index.ts';
import { encodeG711 } from '../../../media/audio/index.ts';

export interface ReceivedPacket { at: number; seq: number; ts: number; ssrc: number; marker: boolean; pt: number; payload: Buffer }

export interface OwnCall {
  endpoint: SipEndpoint;
  dialog: Dialog;
  rtp: Socket;
  rtpPort: number;
  /** Where the server's RTP comes from (its SDP answer). */
  serverMedia: { address: string; port: number };
  received: ReceivedPacket[];
  /** Sends `frames` 20 ms frames of a tone, paced by a timer. */
  sendTone(frames: number, pt?: number): Promise<void>;
  /**
   * Sends 8 kHz PCM in real time: 20 ms frames at start + n*20 ms on the monotonic clock (no drift),
   * stopping early when `stop()` says so. Resolves with the performance.now() the first frame left at.
   */
  /** Paces frames at 20 ms from `startedAt` (catching up when late); `sentAt[k]` is when frame k actually left. */
  sendPcm(pcm: Int16Array, options?: { pt?: number; stop?: () => boolean }): Promise<{ startedAt: number; frames: number; sentAt: number[] }>;
  /** Types `keys` as RFC 4733 events: each key's packets 20 ms apart (end packet three times), `gapMs` between keys. */
  sendDigits(keys: string, options?: { gapMs?: number; durationMs?: number }): Promise<void>;
  close(): Promise<void>;
}

export function sdpOffer(port: number, codecs: Array<[number, string]> = [[0, 'PCMU']], te = true): string {
  const pts = codecs.map(([pt]) => pt).concat(te ? [101] : []);
  return ['v=0', 'o=uac 1 1 IN IP4 127.0.0.1', 's=-', 'c=IN IP4 127.0.0.1', 't=0 0', `m=audio ${port} RTP/AVP ${pts.join(' ')}`,
    ...codecs.map(([pt, n]) => `a=rtpmap:${pt} ${n}/8000`), ...(te ? ['a=rtpmap:101 telephone-event/8000', 'a=fmtp:101 0-16'] : []), 'a=ptime:20', 'a=sendrecv', ''].join('\r\n');
}

export async function ownCall(sipPort: number, options: Partial<InviteOptions> & { number?: string; transport?: 'UDP' | 'TCP'; codecs?: Array<[number, string]> } = {}): Promise<OwnCall> {
  const endpoint = await SipEndpoint.create({ host: '127.0.0.1', udpPort: 0, tcpPort: 0, guard: false });
  const rtp = createSocket('udp4');
  await new Promise<void>((r) => rtp.bind(0, '127.0.0.1', () => r()));
  const rtpPort = rtp.address().port;
  const received: ReceivedPacket[] = [];
  rtp.on('message', (msg) => {
    const p = parseRtp(msg);
    if (p.ok) received.push({ at: performance.now(), seq: p.packet.sequenceNumber, ts: p.packet.timestamp, ssrc: p.packet.ssrc, marker: p.packet.marker, pt: p.packet.payloadType, payload: Buffer.from(p.packet.payload) });
  });
  const transport = options.transport ?? 'UDP';
  const uri = `sip:${options.number ?? '2000'}@127.0.0.1:${sipPort}${transport === 'TCP' ? ';transport=tcp' : ''}`;
  let dialog: Dialog;
  try {
    dialog = await endpoint.invite({ uri, from: 'sip:uac@127.0.0.1', sdp: sdpOffer(rtpPort, options.codecs), timeoutMs: 8000, ...options });
  } catch (error) {
    rtp.close();
    await endpoint.close();
    throw error;
  }
  const m = /m=audio (\d+)/.exec(dialog.remoteSdp ?? '');
  const c = /c=IN IP4 (\S+)/.exec(dialog.remoteSdp ?? '');
  const serverMedia = { address: c?.[1] ?? '127.0.0.1', port: Number(m?.[1] ?? 0) };
  let seq = 1000;
  let ts = 5000;
  return {
    endpoint, dialog, rtp, rtpPort, serverMedia, received,
    async sendTone(frames, pt = 0) {
      const pcm = new Int16Array(160);
      for (let n = 0; n < frames; n++) {
        for (let i = 0; i < 160; i++) pcm[i] = Math.round(8000 * Math.sin((2 * Math.PI * 440 * (n * 160 + i)) / 8000));
        const payload = Buffer.alloc(160);
        encodeG711(pt === 8 ? 'alaw' : 'mulaw', pcm, payload);
        rtp.send(serializeRtp({ payloadType: pt, sequenceNumber: seq++ & 0xffff, timestamp: ts, ssrc: 0x1234, marker: n === 0, payload }), serverMedia.port, serverMedia.address);
        ts += 160;
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    async sendPcm(pcm, opts = {}) {
      const pt = opts.pt ?? 0;
      const total = Math.ceil(pcm.length / 160);
      const startedAt = performance.now();
      const sentAt: number[] = [];
      let n = 0;
      for (; n < total; n++) {
        if (opts.stop?.()) break;
        const wait = startedAt + n * 20 - performance.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        const frame = new Int16Array(160);
        frame.set(pcm.subarray(n * 160, Math.min(pcm.length, (n + 1) * 160)));
        const payload = Buffer.alloc(160);
        encodeG711(pt === 8 ? 'alaw' : 'mulaw', frame, payload);
        sentAt.push(performance.now());
        rtp.send(serializeRtp({ payloadType: pt, sequenceNumber: seq++ & 0xffff, timestamp: ts, ssrc: 0x1234, marker: false, payload }), serverMedia.port, serverMedia.address);
        ts += 160;
      }
      return { startedAt, frames: n, sentAt };
    },
    async sendDigits(keys, opts = {}) {
      const durationMs = opts.durationMs ?? 100;
      for (const key of keys) {
        for (const plan of dtmfPacketSequence(key, { durationMs })) {
          rtp.send(serializeRtp({ payloadType: 101, sequenceNumber: seq++ & 0xffff, timestamp: ts, ssrc: 0x1234, marker: plan.marker, payload: plan.payload }), serverMedia.port, serverMedia.address);
          await new Promise((r) => setTimeout(r, 20));
        }
        ts += (durationMs * 8) + 160;
        await new Promise((r) => setTimeout(r, opts.gapMs ?? 80));
      }
    },
    async close() {
      if (dialog.state !== 'terminated') await dialog.bye().catch(() => undefined);
      rtp.close();
      await endpoint.close();
    },
  };
}
