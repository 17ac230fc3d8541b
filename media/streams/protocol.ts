/**
 * The two carrier WebSocket media-stream dialects, Twilio Media Streams and
 * Telnyx Media Streaming, read into one event shape and written back.
 *
 * Both send JSON text frames: `connected`, then `start` (stream and call ids,
 * media format, the custom parameters the stream was started with), `media`
 * (base64 G.711 of one chunk, normally 20 ms), `dtmf`, `mark` (the echo of a
 * mark we sent, once the audio queued before it has played or was cleared) and
 * `stop`. We send `media`, `mark` and `clear` (drop what is buffered). Twilio
 * spells ids `streamSid`/`callSid` and counters `sequenceNumber`; Telnyx
 * `stream_id`/`call_control_id` and `sequence_number`, and names the encoding
 * `PCMU`/`PCMA` where Twilio says `audio/x-mulaw`. Hand-written because no
 * maintained npm package covers both dialects on the server side; the message
 * shapes are from the providers' published protocol pages.
 */
import { z } from 'zod';

export type StreamDialect = 'twilio' | 'telnyx';

export type StreamEvent =
  | { kind: 'connected' }
  | { kind: 'start'; streamId: string; callId: string; encoding: 'mulaw' | 'alaw'; sampleRate: number; customParameters: Record<string, string> }
  | { kind: 'media'; track: string; payload: Buffer }
  | { kind: 'dtmf'; digit: string }
  | { kind: 'mark'; name: string }
  | { kind: 'stop' };

export class StreamProtocolError extends Error {
  override name = 'StreamProtocolError';
}

/** The most a text frame may carry: a few seconds of base64 audio plus metadata. */
export const MAX_STREAM_MESSAGE_BYTES = 256 * 1024;

const text = z.string().max(256);
const parameters = z.record(z.string().max(128), z.string().max(2048)).optional();

const twilioMessage = z.discriminatedUnion('event', [
  z.object({ event: z.literal('connected'), protocol: z.string().optional(), version: z.string().optional() }),
  z.object({
    event: z.literal('start'),
    streamSid: text.optional(),
    start: z.object({
      streamSid: text,
      callSid: text,
      accountSid: text.optional(),
      tracks: z.array(z.string()).optional(),
      customParameters: parameters,
      mediaFormat: z.object({ encoding: z.string(), sampleRate: z.number().int(), channels: z.number().int().optional() }),
    }),
  }),
  z.object({ event: z.literal('media'), media: z.object({ track: z.string().optional(), chunk: z.string().optional(), timestamp: z.string().optional(), payload: z.string() }) }),
  z.object({ event: z.literal('dtmf'), dtmf: z.object({ digit: z.string().regex(/^[0-9*#A-D]$/) }) }),
  z.object({ event: z.literal('mark'), mark: z.object({ name: text }) }),
  z.object({ event: z.literal('stop') }),
]);

const telnyxMessage = z.discriminatedUnion('event', [
  z.object({ event: z.literal('connected'), version: z.string().optional() }),
  z.object({
    event: z.literal('start'),
    stream_id: text.optional(),
    start: z.object({
      call_control_id: text,
      client_state: z.string().max(4096).optional(),
      custom_parameters: parameters,
      media_format: z.object({ encoding: z.string(), sample_rate: z.number().int(), channels: z.number().int().optional() }),
    }),
  }),
  z.object({ event: z.literal('media'), media: z.object({ track: z.string().optional(), chunk: z.string().optional(), timestamp: z.string().optional(), payload: z.string() }) }),
  z.object({ event: z.literal('dtmf'), dtmf: z.object({ digit: z.string().regex(/^[0-9*#A-D]$/) }) }),
  z.object({ event: z.literal('mark'), mark: z.object({ name: text }) }),
  z.object({ event: z.literal('stop') }),
  // Telnyx reports a problem with what we sent (e.g. a malformed media frame) and carries on.
  z.object({ event: z.literal('error') }),
]);

function encodingOf(name: string): 'mulaw' | 'alaw' {
  const n = name.toLowerCase();
  if (n === 'audio/x-mulaw' || n === 'pcmu') return 'mulaw';
  if (n === 'audio/x-alaw' || n === 'pcma') return 'alaw';
  throw new StreamProtocolError(`unsupported media encoding ${JSON.stringify(name.slice(0, 32))}`);
}

function base64Audio(payload: string): Buffer {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(payload)) throw new StreamProtocolError('media payload is not base64');
  return Buffer.from(payload, 'base64');
}

/** One text frame of `dialect` as an event; undefined for events we do not act on (Telnyx `error`). */
export function parseStreamMessage(dialect: StreamDialect, data: string): StreamEvent | undefined {
  if (data.length > MAX_STREAM_MESSAGE_BYTES) throw new StreamProtocolError('message too large');
  let json: unknown;
  try {
    json = JSON.parse(data);
  } catch {
    throw new StreamProtocolError('message is not JSON');
  }
  if (dialect === 'twilio') {
    const parsed = twilioMessage.safeParse(json);
    if (!parsed.success) throw new StreamProtocolError(`not a Twilio media-stream message (${parsed.error.issues[0]?.path.join('.') || 'event'})`);
    const m = parsed.data;
    switch (m.event) {
      case 'connected': return { kind: 'connected' };
      case 'start': return {
        kind: 'start', streamId: m.start.streamSid, callId: m.start.callSid, encoding: encodingOf(m.start.mediaFormat.encoding),
        sampleRate: m.start.mediaFormat.sampleRate, customParameters: m.start.customParameters ?? {},
      };
      case 'media': return { kind: 'media', track: m.media.track ?? 'inbound', payload: base64Audio(m.media.payload) };
      case 'dtmf': return { kind: 'dtmf', digit: m.dtmf.digit };
      case 'mark': return { kind: 'mark', name: m.mark.name };
      case 'stop': return { kind: 'stop' };
    }
  }
  const parsed = telnyxMessage.safeParse(json);
  if (!parsed.success) throw new StreamProtocolError(`not a Telnyx media-stream message (${parsed.error.issues[0]?.path.join('.') || 'event'})`);
  const m = parsed.data;
  switch (m.event) {
    case 'connected': return { kind: 'connected' };
    case 'start': return {
      kind: 'start', streamId: m.stream_id ?? m.start.call_control_id, callId: m.start.call_control_id,
      encoding: encodingOf(m.start.media_format.encoding), sampleRate: m.start.media_format.sample_rate,
      customParameters: m.start.custom_parameters ?? {},
    };
    case 'media': return { kind: 'media', track: m.media.track ?? 'inbound', payload: base64Audio(m.media.payload) };
    case 'dtmf': return { kind: 'dtmf', digit: m.dtmf.digit };
    case 'mark': return { kind: 'mark', name: m.mark.name };
    case 'stop': return { kind: 'stop' };
    case 'error': return undefined;
  }
}

/** Outbound messages in `dialect`, bound to one stream. */
export class StreamWriter {
  constructor(private readonly dialect: StreamDialect, private readonly streamId: string) {}

  media(payload: Uint8Array): string {
    const b64 = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).toString('base64');
    return this.dialect === 'twilio'
      ? JSON.stringify({ event: 'media', streamSid: this.streamId, media: { payload: b64 } })
      : JSON.stringify({ event: 'media', media: { payload: b64 } });
  }

  mark(name: string): string {
    return this.dialect === 'twilio'
      ? JSON.stringify({ event: 'mark', streamSid: this.streamId, mark: { name } })
      : JSON.stringify({ event: 'mark', mark: { name } });
  }

  clear(): string {
    return this.dialect === 'twilio' ? JSON.stringify({ event: 'clear', streamSid: this.streamId }) : JSON.stringify({ event: 'clear' });
  }
}
