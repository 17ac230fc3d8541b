/**
 * SDP offer/answer for one audio stream (RFC 3264), on top of sdp-transform
 * for the text format. Reads the remote audio m-line (address, ports, payload
 * types, telephone-event, ptime, direction, hold), picks a codec (G.722
 * whenever the offer has it, wideband being worth more to speech recognition
 * than the offerer's order; otherwise the offerer's preferred codec among
 * ours), and writes our answer or our own offer. Comfort
 * noise (RFC 3389, CN/8000) is accepted in an answer when the offer has it, so
 * the agent's silence can go out as SID packets. When no
 * codec is shared the result says so ('no-common-codec', status 488) so the
 * SIP layer can answer 488 Not Acceptable Here.
 *
 * SRTP (RFC 4568 SDES): an RTP/SAVP offer is answered only when the caller of
 * answerOffer allows SRTP (`srtp: 'allowed'`, the call came over TLS) and one
 * of its a=crypto lines is usable (sdes.ts); the answer then carries our own
 * fresh key and the result both keys. With `srtp: 'required'` (a number that
 * demands it) an RTP/AVP offer is refused. Without `srtp`, RTP/SAVP is refused
 * as before ('unsupported-transport').
 */
import sdpTransform from 'sdp-transform';
import type { MediaDescription, SessionDescription } from 'sdp-transform';
import { chooseSdes, newSdesKey } from './sdes.ts';
import type { CryptoLine, SdesSuite } from './sdes.ts';

export type CodecName = 'PCMU' | 'PCMA' | 'G722';
export type Direction = 'sendrecv' | 'sendonly' | 'recvonly' | 'inactive';

export interface Codec {
  name: CodecName;
  payloadType: number;
  /** RTP timestamp rate (8000 for G.722 too, per RFC 3551). */
  clockRate: number;
  /** Audio sample rate of the decoded PCM. */
  sampleRate: number;
}

export const STATIC_CODECS: Readonly<Record<CodecName, Codec>> = {
  PCMU: { name: 'PCMU', payloadType: 0, clockRate: 8000, sampleRate: 8000 },
  PCMA: { name: 'PCMA', payloadType: 8, clockRate: 8000, sampleRate: 8000 },
  G722: { name: 'G722', payloadType: 9, clockRate: 8000, sampleRate: 16000 },
};

/** Codecs this server accepts in answers (all it can carry). */
export const DEFAULT_CODECS: readonly CodecName[] = ['G722', 'PCMU', 'PCMA'];
/** Codecs chosen ahead of the offerer's order when offered: wideband first. */
export const DEFAULT_PREFERRED: readonly CodecName[] = ['G722'];
/**
 * Codecs our own offers list by default, wideband first: the answer picks one, and an outbound call's
 * RTP session takes that codec's rate (RtpStream.setCodec's adoptRate); see LocalMedia.codecs.
 */
export const DEFAULT_OFFER_CODECS: readonly CodecName[] = ['G722', 'PCMU', 'PCMA'];

const STATIC_PAYLOAD_NAMES: Record<number, { name: string; rate: number }> = {
  0: { name: 'PCMU', rate: 8000 },
  3: { name: 'GSM', rate: 8000 },
  4: { name: 'G723', rate: 8000 },
  8: { name: 'PCMA', rate: 8000 },
  9: { name: 'G722', rate: 8000 },
  13: { name: 'CN', rate: 8000 },
  18: { name: 'G729', rate: 8000 },
};

export interface OfferedFormat {
  payloadType: number;
  /** Encoding name as written (case kept); compare case-insensitively. */
  name: string;
  clockRate: number;
  channels?: number;
  fmtp?: string;
}

export interface RemoteAudio {
  address: string;
  port: number;
  rtcpPort: number;
  protocol: string;
  /** Formats in the order given (the offerer's preference). */
  formats: OfferedFormat[];
  telephoneEvent?: { payloadType: number; clockRate: number; fmtp?: string };
  /** The CN/8000 format (RFC 3389), when listed. */
  comfortNoise?: { payloadType: number };
  /** The a=crypto lines of an RTP/SAVP description (RFC 4568), as written. */
  crypto?: CryptoLine[];
  ptime?: number;
  /** The direction attribute as written (media level, else session level, else sendrecv). */
  direction: Direction;
  /** The remote asked not to receive media: c=0.0.0.0, a=sendonly or a=inactive (or port 0). */
  onHold: boolean;
  /** Index of this m-line in the description. */
  mediaIndex: number;
}

export type SdpFailure = 'unparseable' | 'no-audio' | 'unsupported-transport' | 'no-common-codec' | 'srtp-required' | 'no-usable-crypto' | 'srtp-rekey';

/** The SIP Warning (RFC 3261 20.43 warn-code and text) that says why an offer failed, for its 488 (or 400). */
export function sdpFailureWarning(reason: SdpFailure): { code: number; text: string } {
  switch (reason) {
    case 'no-common-codec': return { code: 305, text: 'Incompatible media format' };
    case 'no-audio': return { code: 304, text: 'Media type not available' };
    case 'unsupported-transport': return { code: 302, text: 'Incompatible transport protocol' };
    case 'unparseable': return { code: 399, text: 'Session description not understood' };
    case 'srtp-required': return { code: 302, text: 'Incompatible transport protocol: SRTP (RTP/SAVP) is required' };
    case 'no-usable-crypto': return { code: 302, text: 'Incompatible transport protocol: no usable a=crypto line' };
    case 'srtp-rekey': return { code: 302, text: 'Incompatible transport protocol: SRTP keys cannot change during a call' };
  }
}

export type RemoteAudioResult = { ok: true; audio: RemoteAudio; description: SessionDescription } | { ok: false; reason: SdpFailure };

const SUPPORTED_PROTOCOLS = new Set(['RTP/AVP', 'RTP/AVPF', 'RTP/SAVP']);

function isNullAddress(ip: string): boolean {
  return ip === '0.0.0.0' || ip === '::';
}

function formatsOf(m: MediaDescription): OfferedFormat[] {
  // sdp-transform gives a lone "0" (PCMU only) as the number 0: test for presence, not truthiness.
  const pts = m.payloads !== undefined && m.payloads !== null && m.payloads !== '' ? sdpTransform.parsePayloads(String(m.payloads)) : [];
  return pts.map((pt) => {
    const map = m.rtp.find((r) => r.payload === pt);
    const fmtp = m.fmtp.find((f) => f.payload === pt)?.config;
    const fallback = STATIC_PAYLOAD_NAMES[pt];
    const f: OfferedFormat = {
      payloadType: pt,
      name: map?.codec ?? fallback?.name ?? `pt${pt}`,
      clockRate: map?.rate ?? fallback?.rate ?? 8000,
    };
    if (map?.encoding !== undefined) f.channels = map.encoding;
    if (fmtp !== undefined) f.fmtp = fmtp;
    return f;
  });
}

/** Finds and describes the first audio m-line of a remote description. */
export function readRemoteAudio(sdp: string): RemoteAudioResult {
  let description: SessionDescription;
  try {
    description = sdpTransform.parse(sdp);
  } catch {
    return { ok: false, reason: 'unparseable' };
  }
  if (!Array.isArray(description.media)) return { ok: false, reason: 'unparseable' };
  const mediaIndex = description.media.findIndex((m) => m.type === 'audio' && m.port !== 0);
  const m = description.media[mediaIndex];
  if (!m) return { ok: false, reason: 'no-audio' };
  if (!SUPPORTED_PROTOCOLS.has(m.protocol)) return { ok: false, reason: 'unsupported-transport' };
  const address = m.connection?.ip ?? description.connection?.ip;
  if (!address) return { ok: false, reason: 'unparseable' };
  const formats = formatsOf(m);
  const te = formats.find((f) => f.name.toLowerCase() === 'telephone-event' && f.clockRate === 8000)
    ?? formats.find((f) => f.name.toLowerCase() === 'telephone-event');
  const direction: Direction = m.direction ?? description.direction ?? 'sendrecv';
  const audio: RemoteAudio = {
    address,
    port: m.port,
    rtcpPort: m.rtcp?.port ?? m.port + 1,
    protocol: m.protocol,
    formats,
    direction,
    onHold: isNullAddress(address) || direction === 'sendonly' || direction === 'inactive',
    mediaIndex,
  };
  if (te) {
    audio.telephoneEvent = { payloadType: te.payloadType, clockRate: te.clockRate };
    if (te.fmtp !== undefined) audio.telephoneEvent.fmtp = te.fmtp;
  }
  const cn = formats.find((f) => f.name.toUpperCase() === 'CN' && f.clockRate === 8000);
  if (cn) audio.comfortNoise = { payloadType: cn.payloadType };
  if (m.crypto && m.crypto.length > 0) audio.crypto = m.crypto.map((c) => ({ id: c.id, suite: c.suite, config: c.config, ...(c.sessionConfig !== undefined ? { sessionConfig: c.sessionConfig } : {}) }));
  if (m.ptime !== undefined) audio.ptime = Number(m.ptime);
  return { ok: true, audio, description };
}

/** The first format in `formats` order that is one of `ours`, with the remote's payload type. */
export function chooseCodec(formats: OfferedFormat[], ours: readonly CodecName[]): Codec | undefined {
  for (const f of formats) {
    const name = f.name.toUpperCase() as CodecName;
    if (!ours.includes(name) || f.clockRate !== STATIC_CODECS[name].clockRate) continue;
    if (f.channels !== undefined && f.channels !== 1) continue;
    return { ...STATIC_CODECS[name], payloadType: f.payloadType };
  }
  return undefined;
}

const ANSWER_DIRECTION: Record<Direction, Direction> = {
  sendrecv: 'sendrecv',
  sendonly: 'recvonly',
  recvonly: 'sendonly',
  inactive: 'inactive',
};

/** Combines what the remote allows with what we want (e.g. we put the call on hold). */
function intersect(allowed: Direction, wanted: Direction): Direction {
  const send = (allowed === 'sendrecv' || allowed === 'sendonly') && (wanted === 'sendrecv' || wanted === 'sendonly');
  const recv = (allowed === 'sendrecv' || allowed === 'recvonly') && (wanted === 'sendrecv' || wanted === 'recvonly');
  return send && recv ? 'sendrecv' : send ? 'sendonly' : recv ? 'recvonly' : 'inactive';
}

export const canSend = (d: Direction): boolean => d === 'sendrecv' || d === 'sendonly';
export const canReceive = (d: Direction): boolean => d === 'sendrecv' || d === 'recvonly';

export interface LocalMedia {
  /** Our media IP address as the peer should see it. */
  address: string;
  /** Our RTP port (RTCP is port + 1). */
  port: number;
  /** Codecs we accept (answers; default DEFAULT_CODECS) or list, in order (offers; default DEFAULT_OFFER_CODECS). */
  codecs?: readonly CodecName[];
  /**
   * Answers: codecs picked ahead of the offerer's order when the offer has them (default G.722). A
   * re-INVITE's answer names the call's current codec, so a re-offer does not switch codecs needlessly.
   */
  preferred?: readonly CodecName[];
  /** The direction we want; default sendrecv. 'sendonly' puts the remote on hold. */
  direction?: Direction;
  ptime?: number;
  /** o= line fields; keep sessionId and bump sessionVersion on re-offers. */
  sessionId?: string;
  sessionVersion?: number;
  username?: string;
  sessionName?: string;
  /** Payload type offered for telephone-event (our offers only). Default 101. */
  telephoneEventPayloadType?: number;
  /** Answers: SRTP (SDES) may be used ('allowed': only over TLS signalling) or must be ('required'); omitted: plain RTP only. */
  srtp?: 'allowed' | 'required';
  /** Answers with SRTP: our key (base64 master key || salt) when one was already chosen (default: a fresh one). */
  srtpSendKey?: string;
}

/** SDES keys of an SRTP call: the suite, our key (we send with it) and the remote's. Secrets: never log them. */
export interface NegotiatedSrtp {
  suite: SdesSuite;
  sendKey: string;
  receiveKey: string;
}

export interface NegotiatedAudio {
  codec: Codec;
  /** The remote's telephone-event payload type, when both sides have it. */
  telephoneEvent?: { payloadType: number; clockRate: number };
  /** The comfort noise payload type (RFC 3389), when both sides have CN: our silence goes out as SID packets. */
  comfortNoise?: { payloadType: number };
  remote: RemoteAudio;
  /** SRTP keys when the call is RTP/SAVP (SDES). */
  srtp?: NegotiatedSrtp;
  /** Our direction as written in our SDP. */
  direction: Direction;
  /** Whether we should send RTP / expect RTP, all things (hold, 0.0.0.0) considered. */
  send: boolean;
  receive: boolean;
  ptime: number;
}

export type AnswerResult =
  | ({ ok: true; sdp: string } & NegotiatedAudio)
  | { ok: false; reason: SdpFailure; /** SIP status to answer with. */ status: 488 | 400 };

function ipVersion(address: string): 4 | 6 {
  return address.includes(':') ? 6 : 4;
}

function newSessionId(): string {
  return String(Math.floor(Date.now() / 1000) * 1000 + Math.floor(Math.random() * 1000));
}

function audioMedia(
  local: LocalMedia, codecs: Codec[], te: { payloadType: number; fmtp?: string } | undefined, direction: Direction, protocol: string, ptime: number,
  cn?: { payloadType: number },
): MediaDescription {
  const rtp: MediaDescription['rtp'] = codecs.map((c) => ({ payload: c.payloadType, codec: c.name, rate: c.clockRate }));
  const fmtp: MediaDescription['fmtp'] = [];
  const payloads = codecs.map((c) => c.payloadType);
  if (cn) {
    rtp.push({ payload: cn.payloadType, codec: 'CN', rate: 8000 });
    payloads.push(cn.payloadType);
  }
  if (te) {
    rtp.push({ payload: te.payloadType, codec: 'telephone-event', rate: 8000 });
    fmtp.push({ payload: te.payloadType, config: te.fmtp ?? '0-16' });
    payloads.push(te.payloadType);
  }
  return { type: 'audio', port: local.port, protocol, payloads: payloads.join(' '), rtp, fmtp, ptime, direction };
}

function description(local: LocalMedia, media: MediaDescription[]): SessionDescription {
  const ipVer = ipVersion(local.address);
  return {
    version: 0,
    origin: {
      username: local.username ?? 'smartalex',
      sessionId: local.sessionId ?? newSessionId(),
      sessionVersion: local.sessionVersion ?? 1,
      netType: 'IN',
      ipVer,
      address: local.address,
    },
    name: local.sessionName ?? 'SmartAlex',
    connection: { version: ipVer, ip: local.address },
    timing: { start: 0, stop: 0 },
    media,
  };
}

/** Builds our answer to a remote offer. */
export function answerOffer(offerSdp: string, local: LocalMedia): AnswerResult {
  const read = readRemoteAudio(offerSdp);
  if (!read.ok) return { ok: false, reason: read.reason, status: read.reason === 'unparseable' ? 400 : 488 };
  const remote = read.audio;
  const savp = remote.protocol === 'RTP/SAVP';
  if (savp && !local.srtp) return { ok: false, reason: 'unsupported-transport', status: 488 };
  if (!savp && local.srtp === 'required') return { ok: false, reason: 'srtp-required', status: 488 };
  const sdes = savp ? chooseSdes(remote.crypto ?? []) : undefined;
  if (savp && !sdes) return { ok: false, reason: 'no-usable-crypto', status: 488 };
  const ours = local.codecs ?? DEFAULT_CODECS;
  const preferred = (local.preferred ?? DEFAULT_PREFERRED).filter((c) => ours.includes(c));
  const codec = chooseCodec(remote.formats, preferred) ?? chooseCodec(remote.formats, ours);
  if (!codec) return { ok: false, reason: 'no-common-codec', status: 488 };
  let allowed = ANSWER_DIRECTION[remote.direction];
  // An old-style hold (c=0.0.0.0) gives us nowhere to send.
  if (isNullAddress(remote.address)) allowed = intersect(allowed, 'recvonly');
  const direction = intersect(allowed, local.direction ?? 'sendrecv');
  const ptime = local.ptime ?? 20;
  const te = remote.telephoneEvent && remote.telephoneEvent.clockRate === 8000 ? remote.telephoneEvent : undefined;
  const srtp: NegotiatedSrtp | undefined = sdes ? { suite: sdes.suite, sendKey: local.srtpSendKey ?? newSdesKey(sdes.suite), receiveKey: sdes.remoteKey } : undefined;
  // RFC 3264 6: the answer has as many m-lines as the offer; the ones we decline get port 0.
  const media = read.description.media.map((m, i): MediaDescription => {
    if (i === remote.mediaIndex) {
      const m = audioMedia(local, [codec], te ? { payloadType: te.payloadType, fmtp: te.fmtp ?? '0-16' } : undefined, direction, remote.protocol, ptime, remote.comfortNoise);
      if (srtp) m.crypto = [{ id: sdes!.tag, suite: srtp.suite, config: `inline:${srtp.sendKey}` }];
      return m;
    }
    const first = m.payloads !== undefined && m.payloads !== null ? String(m.payloads).split(' ')[0] || '0' : '0';
    return { type: m.type, port: 0, protocol: m.protocol, payloads: first, rtp: [], fmtp: [] };
  });
  const sdp = sdpTransform.write(description(local, media));
  const result: { ok: true; sdp: string } & NegotiatedAudio = {
    ok: true,
    sdp,
    codec,
    remote,
    direction,
    send: canSend(direction) && !isNullAddress(remote.address) && remote.port !== 0,
    receive: canReceive(direction),
    ptime,
  };
  if (te) result.telephoneEvent = { payloadType: te.payloadType, clockRate: te.clockRate };
  if (remote.comfortNoise) result.comfortNoise = { payloadType: remote.comfortNoise.payloadType };
  if (srtp) result.srtp = srtp;
  return result;
}

/** Builds our offer (outbound calls, re-INVITE for hold/resume). */
export function createOffer(local: LocalMedia): string {
  const codecs = (local.codecs ?? DEFAULT_OFFER_CODECS).map((n) => STATIC_CODECS[n]);
  const te = { payloadType: local.telephoneEventPayloadType ?? 101, fmtp: '0-16' };
  const media = audioMedia(local, codecs, te, local.direction ?? 'sendrecv', 'RTP/AVP', local.ptime ?? 20);
  return sdpTransform.write(description(local, [media]));
}

export type OfferAnswerResult = ({ ok: true } & NegotiatedAudio) | { ok: false; reason: SdpFailure };

/** Reads the remote's answer to our offer: the codec it chose (its first listed that we offered). */
export function readAnswer(answerSdp: string, local: LocalMedia): OfferAnswerResult {
  const read = readRemoteAudio(answerSdp);
  if (!read.ok) return { ok: false, reason: read.reason };
  const remote = read.audio;
  const codec = chooseCodec(remote.formats, local.codecs ?? DEFAULT_OFFER_CODECS);
  if (!codec) return { ok: false, reason: 'no-common-codec' };
  // The answer's direction is from its side: its sendonly means we only receive.
  let direction = intersect(ANSWER_DIRECTION[remote.direction], local.direction ?? 'sendrecv');
  if (isNullAddress(remote.address)) direction = intersect(direction, 'recvonly');
  const result: { ok: true } & NegotiatedAudio = {
    ok: true,
    codec,
    remote,
    direction,
    send: canSend(direction) && remote.port !== 0,
    receive: canReceive(direction),
    ptime: remote.ptime ?? local.ptime ?? 20,
  };
  if (remote.telephoneEvent) result.telephoneEvent = { payloadType: remote.telephoneEvent.payloadType, clockRate: remote.telephoneEvent.clockRate };
  // We never offer CN, so an answer listing it is not a negotiation: only answers to offers carry it.
  return result;
}
