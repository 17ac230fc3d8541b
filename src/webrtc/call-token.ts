/**
 * The short-lived token that lets a browser call one tenant's agent over
 * WebRTC: tenant, agent, a random id and an expiry, signed with HMAC-SHA256
 * under a secret derived from the master key (so tokens survive a restart
 * and every node of a cluster accepts them). The API mints it
 * (POST /v1/agents/:agentId/call-tokens, role-checked and audited); the
 * signalling socket (/v1/webrtc) accepts an offer only with a valid one.
 * A token starts at most one call: its id is claimed when it is used, in
 * Postgres on a server (storage/cluster.ts claimCallTokenId: every node
 * agrees), else in this process (UsedCallTokens). A token minted for a
 * web-widget key carries the page's origin; the signalling socket then
 * accepts it only from a browser on that origin. Format: base64url(JSON).base64url(sig), like the media-stream
 * token (src/streams/stream-token.ts) but signed under its own purpose.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';

export const CALL_TOKEN_TTL_MS = 5 * 60_000;
export const CALL_TOKEN_MAX_TTL_MS = 3600_000;

const claimsSchema = z.object({
  v: z.literal(1),
  tenantId: z.string().uuid(),
  agentId: z.string().uuid(),
  jti: z.string().regex(/^[A-Za-z0-9_-]{16,64}$/),
  exp: z.number().int(),
  origin: z.string().min(1).max(300).optional(),
}).strict();

export interface CallTokenClaims {
  tenantId: string;
  agentId: string;
  jti: string;
  expiresAtMs: number;
  /** Set on a token minted for a web-widget key: the only Origin its signalling socket may come from. */
  origin?: string;
}

export type CallTokenCheck = { ok: true; claims: CallTokenClaims } | { ok: false; reason: 'malformed' | 'bad-signature' | 'expired' };

function sign(secret: Buffer, payload: string): Buffer {
  return createHmac('sha256', secret).update('smartalex-webrtc-call-token\0').update(payload).digest();
}

export function mintCallToken(secret: Buffer, claims: { tenantId: string; agentId: string; origin?: string }, nowMs = Date.now(), ttlMs = CALL_TOKEN_TTL_MS): { token: string; expiresAtMs: number } {
  const exp = Math.floor((nowMs + Math.min(ttlMs, CALL_TOKEN_MAX_TTL_MS)) / 1000);
  const body = { v: 1, tenantId: claims.tenantId, agentId: claims.agentId, jti: randomBytes(16).toString('base64url'), exp, ...(claims.origin !== undefined ? { origin: claims.origin } : {}) };
  const payload = Buffer.from(JSON.stringify(body)).toString('base64url');
  return { token: `${payload}.${sign(secret, payload).toString('base64url')}`, expiresAtMs: exp * 1000 };
}

export function checkCallToken(secret: Buffer, token: unknown, nowMs = Date.now()): CallTokenCheck {
  if (typeof token !== 'string' || token.length > 2048) return { ok: false, reason: 'malformed' };
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
  return { ok: true, claims: { tenantId: parsed.tenantId, agentId: parsed.agentId, jti: parsed.jti, expiresAtMs: parsed.exp * 1000, ...(parsed.origin !== undefined ? { origin: parsed.origin } : {}) } };
}

/** Token ids already used in this process, each kept until its token expires (then it is refused as expired anyway). */
export class UsedCallTokens {
  private readonly used = new Map<string, number>();

  /** True the first time `claims` is presented before its expiry; false for a replay. */
  claim(claims: Pick<CallTokenClaims, 'jti' | 'expiresAtMs'>, nowMs = Date.now()): boolean {
    for (const [jti, expiresAtMs] of this.used) if (expiresAtMs <= nowMs) this.used.delete(jti);
    if (this.used.has(claims.jti)) return false;
    this.used.set(claims.jti, claims.expiresAtMs);
    return true;
  }

  get size(): number {
    return this.used.size;
  }
}
