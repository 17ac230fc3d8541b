/**
 * The short-lived token that ties a carrier's media stream to the call its
 * webhook announced: tenant, number, the carrier's call id and an expiry,
 * signed with HMAC-SHA256 under a server secret. The webhook (signature
 * checked) mints it into the TwiML/TeXML it answers; the WebSocket accepts a
 * stream only with a valid token for that same call, so nobody can open a
 * stream to an agent by guessing a URL. Format: base64url(JSON).base64url(sig).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';

export const STREAM_TOKEN_TTL_MS = 60_000;

const claimsSchema = z.object({
  v: z.literal(1),
  tenantId: z.string().uuid(),
  numberId: z.string().uuid(),
  callId: z.string().min(1).max(128),
  carrier: z.enum(['twilio', 'telnyx']),
  exp: z.number().int(),
}).strict();

export type StreamTokenClaims = Omit<z.infer<typeof claimsSchema>, 'v' | 'exp'>;

export type StreamTokenCheck = { ok: true; claims: StreamTokenClaims } | { ok: false; reason: 'malformed' | 'bad-signature' | 'expired' };

function sign(secret: Buffer, payload: string): Buffer {
  return createHmac('sha256', secret).update('smartalex-stream-token\0').update(payload).digest();
}

export function mintStreamToken(secret: Buffer, claims: StreamTokenClaims, nowMs = Date.now(), ttlMs = STREAM_TOKEN_TTL_MS): string {
  const payload = Buffer.from(JSON.stringify({ v: 1, ...claims, exp: Math.floor((nowMs + ttlMs) / 1000) })).toString('base64url');
  return `${payload}.${sign(secret, payload).toString('base64url')}`;
}

export function checkStreamToken(secret: Buffer, token: string | undefined, nowMs = Date.now()): StreamTokenCheck {
  if (!token || token.length > 2048) return { ok: false, reason: 'malformed' };
  const [payload, sig, extra] = token.split('.');
  if (!payload || !sig || extra !== undefined) return { ok: false, reason: 'malformed' };
  const expected = sign(secret, payload);
  const given = Buffer.from(sig, 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { ok: false, reason: 'bad-signature' };
  let parsed: z.infer<typeof claimsSchema>;
  try {
    parsed = claimsSchema.parse(JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')));
  } catch {
    return { ok: false, reason: 'malformed' };
  }
  if (parsed.exp * 1000 <= nowMs) return { ok: false, reason: 'expired' };
  const { v: _v, exp: _exp, ...claims } = parsed;
  return { ok: true, claims };
}
