/**
 * What a resource operation can refuse, in words the operator (CLI) and the
 * API client (problem+json) both read: `invalid` (400), `not-found` (404,
 * also for another tenant's ids: they are not visible from this tenant),
 * `conflict` (409). Messages never quote a phone number, a secret or call
 * content.
 */
export type ResourceErrorKind = 'invalid' | 'not-found' | 'conflict';

export class ResourceError extends Error {
  override name = 'ResourceError';
  constructor(readonly kind: ResourceErrorKind, message: string, readonly field?: string) {
    super(message);
  }
}

export const invalid = (message: string, field?: string): ResourceError => new ResourceError('invalid', message, field);
export const notFound = (what: string): ResourceError => new ResourceError('not-found', `no such ${what}`);
export const conflict = (message: string): ResourceError => new ResourceError('conflict', message);

/** Who acts, as the audit log records it ("user:<id>", "apikey:<prefix>", "operator:cli") and from where. */
export interface Actor {
  actor: string;
  sourceIp?: string | undefined;
}

/** The audit entry's who-and-where fields for `who`. */
export function auditBy(who: Actor): { actor: string; sourceIp?: string } {
  return { actor: who.actor, ...(who.sourceIp ? { sourceIp: who.sourceIp } : {}) };
}

/** Postgres unique_violation (23505), through drizzle's wrapping. */
export function isUniqueViolation(error: unknown): boolean {
  const e = error as { code?: string; cause?: { code?: string } };
  return (e.cause?.code ?? e.code) === '23505';
}
