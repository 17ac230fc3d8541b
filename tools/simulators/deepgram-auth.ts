/**
 * Deepgram's credential check, as the real service does it: an API key goes
 * in `Authorization: Token <key>` (or the `token, <key>` WebSocket
 * subprotocol), a temporary access token from /v1/auth/grant (a JWT) in
 * `Authorization: Bearer <jwt>` (or `bearer, <jwt>`). A key sent as Bearer, or
 * a token sent as Token, is refused. The official SDK sends exactly this
 * (@deepgram/sdk v5 CustomClient.ts: "Access tokens use Bearer scheme, API keys
 * use Token scheme").
 */
import type { IncomingMessage } from 'node:http';

export interface DeepgramCredentials {
  /** When set only this key is accepted; otherwise any non-empty key is. */
  apiKey?: string;
  /** When set only this access token is accepted; otherwise any JWT-shaped token is. */
  accessToken?: string;
}

const JWT = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

/** The scheme (lower case) and credential the request carries, from the header or the subprotocol. */
function presented(req: IncomingMessage): { scheme: string; value: string } | undefined {
  const header = req.headers.authorization;
  if (header) {
    const m = /^(\S+)\s+(.+)$/.exec(header.trim());
    return m ? { scheme: m[1]!.toLowerCase(), value: m[2]!.trim() } : undefined;
  }
  const protocols = req.headers['sec-websocket-protocol'];
  if (!protocols) return undefined;
  const [scheme, value] = String(protocols).split(',').map((s) => s.trim());
  return scheme && value ? { scheme: scheme.toLowerCase(), value } : undefined;
}

export function credentialAccepted(req: IncomingMessage, expected: DeepgramCredentials): boolean {
  const c = presented(req);
  if (!c || c.value === '') return false;
  if (c.scheme === 'token') return !JWT.test(c.value) && (expected.apiKey === undefined || c.value === expected.apiKey);
  if (c.scheme === 'bearer') return JWT.test(c.value) && (expected.accessToken === undefined || c.value === expected.accessToken);
  return false;
}
