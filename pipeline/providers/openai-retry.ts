/**
 * Which OpenAI failures are worth another attempt inside a voice turn, and
 * after how long. OpenAI answers 429 for two different things
 * (platform.openai.com/docs/guides/error-codes): `rate_limit_exceeded`
 * (retry after `retry-after`) and `insufficient_quota` (no retry will ever
 * succeed). 5xx, dropped connections and an `error` event inside a stream
 * (openai-node core/streaming.ts throws it as an APIError with no status) are
 * transient. Anything else (400, 401, 403, 404) is not.
 */
import { APIConnectionError, APIError } from 'openai';

/** Delay in ms before the next attempt, or undefined when the failure must not be retried. */
export function openAiRetryDelayMs(err: unknown, attempt: number, backoffBaseMs: number): number | undefined {
  const backoff = backoffBaseMs * 2 ** (attempt - 1);
  if (err instanceof APIConnectionError) return backoff;
  if (!(err instanceof APIError)) return undefined;
  if (err.code === 'insufficient_quota' || err.type === 'insufficient_quota') return undefined;
  if (err.status === 429) return retryAfterMs(err.headers) ?? backoff;
  if (err.status === undefined || err.status >= 500) return backoff;
  return undefined;
}

function retryAfterMs(headers: Headers | undefined): number | undefined {
  const ms = Number(headers?.get('retry-after-ms'));
  if (Number.isFinite(ms) && ms > 0) return ms;
  const raw = headers?.get('retry-after');
  if (!raw) return undefined;
  const s = Number(raw);
  if (Number.isFinite(s)) return Math.max(0, s * 1000);
  const at = Date.parse(raw);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}
