/**
 * Turns whatever an SDK threw into a ProviderError whose message is safe to
 * log: the API key never appears in it (some providers echo a masked or even
 * the full key back in their error text), and the original error is attached
 * as `cause` only when its own message is clean.
 */
import { ProviderError } from './types.ts';

/** Replaces every occurrence of each secret in `text` with `[redacted]`. */
export function redactSecrets(text: string, secrets: ReadonlyArray<string | undefined>): string {
  let out = text;
  for (const s of secrets) {
    if (s && s.length >= 4) out = out.split(s).join('[redacted]');
  }
  return out;
}

/** Best-effort HTTP status carried by SDK errors (openai APIError.status, DeepgramError.statusCode). */
export function errorStatus(err: unknown): number | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const e = err as { status?: unknown; statusCode?: unknown };
  if (typeof e.status === 'number') return e.status;
  if (typeof e.statusCode === 'number') return e.statusCode;
  return undefined;
}

export function toProviderError(provider: string, what: string, err: unknown, secrets: ReadonlyArray<string | undefined>): ProviderError {
  if (err instanceof ProviderError) return err;
  const raw = err instanceof Error ? err.message : String(err);
  const status = errorStatus(err);
  const firstLine = (raw.split('\n')[0] ?? '').slice(0, 300);
  const kind = status === 401 || status === 403 ? 'authentication failed' : status !== undefined ? `HTTP ${status}` : 'failed';
  const clean = redactSecrets(`${what} ${kind}: ${firstLine}`, secrets);
  const causeIsClean = !secrets.some((s) => s && s.length >= 4 && (raw.includes(s) || (err instanceof Error && String(err.stack).includes(s))));
  return new ProviderError(provider, clean, causeIsClean ? { cause: err } : undefined);
}

export function isAbortError(err: unknown, signal?: AbortSignal): boolean {
  if (signal?.aborted) return true;
  if (typeof err !== 'object' || err === null) return false;
  const name = (err as { name?: unknown }).name;
  return name === 'AbortError' || name === 'APIUserAbortError';
}
