/**
 * Turns `Authorization: Bearer <credential>` into a Principal. An API key
 * (`sak_...`) is checked against its stored hash; anything else is read as a
 * session token (src/api/auth/sessions.ts). The tenant comes from the
 * credential alone: no header, path or body can choose it. Unknown, revoked,
 * expired and malformed credentials are indistinguishable (401).
 */
import type { FastifyRequest } from 'fastify';
import type { Principal, RequestFacts } from '../context.ts';
import { authenticateApiKeyAt } from './api-keys.ts';
import { authenticateSession } from './sessions.ts';

/** The bearer credential, or undefined when the header is missing or not a Bearer. */
export function bearerOf(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (typeof header !== 'string') return undefined;
  const match = /^Bearer[ ]+([!-~]{1,4096})\s*$/i.exec(header);
  return match?.[1];
}

export async function authenticate(facts: RequestFacts, credential: string): Promise<Principal | undefined> {
  if (credential.startsWith('sak_')) {
    const key = await authenticateApiKeyAt(facts.db, credential, facts.now());
    return key ? { kind: 'apikey', tenantId: key.tenantId, keyId: key.keyId, prefix: key.prefix, role: key.role } : undefined;
  }
  return authenticateSession(facts, credential);
}
