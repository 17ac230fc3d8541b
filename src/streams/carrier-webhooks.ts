/**
 * The carriers' voice webhooks that start a media stream.
 *
 *   POST /v1/carriers/twilio/voice   (Twilio, form-encoded, X-Twilio-Signature)
 *   POST /v1/carriers/telnyx/voice   (Telnyx TeXML, form-encoded or JSON, Ed25519)
 *
 * The called number (`To`) routes to the tenant and number; the request must
 * carry a valid signature under that number's carrier credential
 * (number_carriers, sealed with the tenant key). Then the answer is TwiML /
 * TeXML `<Connect><Stream>` to this server's stream endpoint with a
 * short-lived stream token bound to the tenant, the number and the carrier's
 * call id (src/streams/stream-token.ts). Twilio ignores a query string on the
 * stream URL, so the token also travels as a `<Parameter>` (it arrives in the
 * `start` message's custom parameters). An unknown number, a number without
 * this carrier and a bad signature get the same 403, so the webhook tells
 * nobody which numbers exist. A draining server answers `<Reject reason="busy">`.
 * Phone numbers are never logged.
 */
import { isIP } from 'node:net';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { getNumberCarrier, routeNumber, type Database, type StreamCarrier } from '../../storage/index.ts';
import type { KeyRing } from '../../storage/vault/index.ts';
import type { Logger } from '../log.ts';
import { mintStreamToken } from './stream-token.ts';
import { verifyTelnyxSignature, verifyTwilioSignature } from './webhook-signatures.ts';

export interface CarrierWebhookOptions {
  db: Database;
  keys: Pick<KeyRing, 'unsealTenantSecret'>;
  /** HMAC key of the stream tokens (derived from the master key). */
  streamSecret: Buffer;
  /** Public origin (and path prefix) of this server as the carrier calls it (SMARTALEX_PUBLIC_BASE_URL); omitted: the bound address. */
  publicBaseUrl?: string;
  /** True while the server drains: new calls are turned away. */
  draining: () => boolean;
  logger: Logger;
  now?: () => number;
}

export const STREAM_PATHS: Record<StreamCarrier, string> = { twilio: '/v1/streams/twilio', telnyx: '/v1/streams/telnyx' };

const FORBIDDEN = { error: 'forbidden' };

export function registerCarrierWebhooks(app: FastifyInstance, options: CarrierWebhookOptions): void {
  const log = options.logger.child({ component: 'carrier-webhooks' });
  const now = options.now ?? Date.now;
  void app.register(async (scope) => {
    // Bodies arrive as text: Telnyx signs the raw body, Twilio the parsed parameters.
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: 64 * 1024 }, (_req, body, done) => done(null, body));
    scope.addContentTypeParser('application/json', { parseAs: 'string', bodyLimit: 64 * 1024 }, (_req, body, done) => done(null, body));

    for (const carrier of ['twilio', 'telnyx'] as const) {
      scope.post(`/v1/carriers/${carrier}/voice`, async (request, reply) => {
        const raw = typeof request.body === 'string' ? request.body : '';
        const params = parseParams(raw, request.headers['content-type']);
        const called = params.To ?? params.to;
        const callId = params.CallSid ?? params.call_control_id ?? params.CallControlId;
        reply.header('cache-control', 'no-store');
        if (!called || !callId) return reply.code(400).send({ error: 'To and CallSid are required' });
        const route = await findRoute(options.db, called);
        const credential = route ? await getNumberCarrier(options.db, options.keys, route.tenantId, route.numberId).catch((error: unknown) => {
          log.warn({ tenantId: route.tenantId, err: { name: (error as Error).name } }, 'a number carrier credential could not be unsealed');
          return undefined;
        }) : undefined;
        const signed = credential?.carrier === carrier && (carrier === 'twilio'
          ? verifyTwilioSignature(credential.credential, signedUrl(request, options.publicBaseUrl), params, header(request, 'x-twilio-signature'))
          : verifyTelnyxSignature(credential.credential, raw, header(request, 'telnyx-signature-ed25519'), header(request, 'telnyx-timestamp'), now() / 1000));
        if (!route || !signed) {
          log.warn({ carrier, ...(route ? { tenantId: route.tenantId } : {}) }, 'carrier webhook refused: unknown number or bad signature');
          return reply.code(403).send(FORBIDDEN);
        }
        reply.header('content-type', 'text/xml; charset=utf-8');
        if (options.draining()) return reply.send(xmlDocument('<Reject reason="busy"/>'));
        const token = mintStreamToken(options.streamSecret, { tenantId: route.tenantId, numberId: route.numberId, callId, carrier }, now());
        const base = streamBaseUrl(request, options.publicBaseUrl);
        const from = params.From ?? params.from;
        const url = `${base}${STREAM_PATHS[carrier]}?token=${encodeURIComponent(token)}`;
        const parameters = `<Parameter name="token" value="${xmlEscape(token)}"/>${from ? `<Parameter name="from" value="${xmlEscape(from.slice(0, 64))}"/>` : ''}`;
        const stream = carrier === 'twilio'
          ? `<Stream url="${xmlEscape(url)}">${parameters}</Stream>`
          : `<Stream url="${xmlEscape(url)}" bidirectionalMode="rtp" bidirectionalCodec="PCMU">${parameters}</Stream>`;
        log.info({ carrier, tenantId: route.tenantId }, 'carrier webhook: starting a media stream');
        return reply.send(xmlDocument(`<Connect>${stream}</Connect>`));
      });
    }
  });
}

/** The number as the carrier sends it (E.164 with its +), else without the +, as numbers may be stored either way. */
async function findRoute(db: Database, called: string): Promise<{ tenantId: string; numberId: string } | undefined> {
  const trimmed = called.trim();
  return await routeNumber(db, trimmed) ?? (trimmed.startsWith('+') ? await routeNumber(db, trimmed.slice(1)) : undefined);
}

function parseParams(raw: string, contentType: string | undefined): Record<string, string> {
  if (contentType?.includes('application/json')) {
    try {
      const json = JSON.parse(raw) as unknown;
      const data = (json as { data?: { payload?: unknown } })?.data?.payload ?? json;
      if (!data || typeof data !== 'object') return {};
      return Object.fromEntries(Object.entries(data as Record<string, unknown>).filter(([, v]) => typeof v === 'string') as [string, string][]);
    } catch {
      return {};
    }
  }
  const out: Record<string, string> = {};
  for (const [k, v] of new URLSearchParams(raw)) out[k] = v;
  return out;
}

function header(request: FastifyRequest, name: string): string | undefined {
  const v = request.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** The URL the carrier called, as it signed it: the public base URL when configured, else what the request says. */
function signedUrl(request: FastifyRequest, publicBaseUrl: string | undefined): string {
  if (publicBaseUrl) return `${publicBaseUrl.replace(/\/+$/, '')}${request.url}`;
  return `${request.protocol}://${request.host}${request.url}`;
}

/** ws(s)://host[:port] of the stream endpoint: from the public base URL, else the address the request reached (never its Host header). */
function streamBaseUrl(request: FastifyRequest, publicBaseUrl: string | undefined): string {
  if (publicBaseUrl) return publicBaseUrl.replace(/\/+$/, '').replace(/^http/i, 'ws');
  let host = request.socket.localAddress ?? '127.0.0.1';
  host = host.replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/i, '');
  const port = request.socket.localPort;
  return `${request.protocol === 'https' ? 'wss' : 'ws'}://${isIP(host) === 6 ? `[${host}]` : host}:${port}`;
}

function xmlDocument(body: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?><Response>${body}</Response>`;
}

function xmlEscape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');
}
