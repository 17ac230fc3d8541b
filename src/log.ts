/**
 * Structured JSON logs (pino). Secrets and call content are redacted by path,
 * so a careless `log.info({ config })` or `{ transcript }` cannot leak them.
 * Call content (transcripts, audio, SDP bodies, digest responses) must not be
 * logged at all; the redaction list is the safety net, not the policy.
 *
 * Errors are the other way content leaks: a database error carries the
 * statement's bound values (drizzle's `params`: caller numbers, transcript
 * text) in a field and in its message, and Postgres adds `detail`/`where`
 * lines quoting row values. Every error anywhere in a log line, and every
 * error in its cause chain, is rebuilt from an allow-list (see scrubbedError).
 */
import { pino, type Logger } from 'pino';
import { redact } from '../pipeline/redact/index.ts';

export const REDACTED_PATHS = [
  'apiKey', '*.apiKey', 'key', '*.key', 'secret', '*.secret', 'password', '*.password', 'token', '*.token',
  'authorization', '*.authorization', 'headers.authorization', 'req.headers.authorization', 'req.headers.cookie',
  'DATABASE_URL', '*.DATABASE_URL', 'SMARTALEX_APP_DATABASE_URL', '*.SMARTALEX_APP_DATABASE_URL',
  'SMARTALEX_MASTER_KEY', '*.SMARTALEX_MASTER_KEY', 'DEEPGRAM_API_KEY', '*.DEEPGRAM_API_KEY',
  'OPENAI_API_KEY', '*.OPENAI_API_KEY', 'masterKey', '*.masterKey',
  'text', '*.text', 'transcript', '*.transcript', 'utterance', '*.utterance', 'audio', '*.audio',
  'body', '*.body', 'sdp', '*.sdp', 'pcm', '*.pcm',
];

export type { Logger };

export function createLogger(level: string, destination?: { write(text: string): unknown }): Logger {
  const options = {
    level,
    base: { service: 'smartalex-media' },
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    // Errors under any key (not only `err`), at any depth of the logged object.
    formatters: { log: (object: Record<string, unknown>) => scrubErrorsIn(object) as Record<string, unknown> },
    serializers: { err: scrubbedError, error: scrubbedError },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  return destination ? pino(options, destination as pino.DestinationStream) : pino(options);
}

/**
 * Error fields that name things (error class, SQLSTATE, constraint, table)
 * rather than carry values; kept, still passed through the PII redactor.
 * Everything else an error carries is dropped: `params`, Postgres `detail`,
 * `where`, `internalQuery`, response bodies, request objects...
 */
const KEPT_FIELDS = ['code', 'errno', 'syscall', 'severity', 'schema', 'table', 'column', 'dataType', 'constraint', 'routine', 'status', 'statusCode'] as const;
/** Fields that are text worth keeping once scrubbed (the SQL text has placeholders, not values, unless built raw). */
const SCRUBBED_TEXT_FIELDS = ['query', 'hint'] as const;
const MAX_CAUSE_DEPTH = 5;
const MAX_WALK_DEPTH = 4;

function isErrorLike(value: unknown): value is Error {
  return value instanceof Error || (typeof value === 'object' && value !== null && typeof (value as { message?: unknown }).message === 'string'
    && typeof (value as { stack?: unknown }).stack === 'string');
}

/** Text with an error's bound parameters cut out (drizzle prints them as `params: a,b,c`), then PII-redacted. */
function scrubText(text: string, params: unknown): string {
  let out = text;
  if (Array.isArray(params) && params.length > 0) {
    const printed = String(params);
    if (printed) out = out.split(printed).join(`[${params.length} parameters dropped]`);
  }
  return redact(out).text;
}

/**
 * Error messages can carry what a caller said or typed (a provider echoing a
 * transcript, a database error quoting a value): the result keeps the type,
 * the scrubbed message and stack, naming fields (code, constraint, table...)
 * and the scrubbed cause chain; every other field is dropped.
 */
export function scrubbedError(error: unknown): unknown {
  if (typeof error === 'object' && error !== null && SCRUBBED.has(error)) return error;
  return isErrorLike(error) ? scrubOne(error, 0, new Set()) : error;
}

/** Outputs of scrubOne: the `err` serializer sees them again after the log formatter. */
const SCRUBBED = new WeakSet<object>();

function scrubOne(error: Error, depth: number, seen: Set<unknown>): Record<string, unknown> {
  seen.add(error);
  const fields = error as unknown as Record<string, unknown>;
  const params = fields.params;
  const out: Record<string, unknown> = {
    type: typeof error.constructor === 'function' && error.constructor !== Object ? error.constructor.name : (error.name ?? 'Error'),
    message: scrubText(error.message, params),
  };
  if (typeof error.stack === 'string') out.stack = scrubText(error.stack, params);
  for (const key of KEPT_FIELDS) {
    const value = fields[key];
    if (typeof value === 'number' || typeof value === 'boolean') out[key] = value;
    else if (typeof value === 'string') out[key] = redact(value).text;
  }
  for (const key of SCRUBBED_TEXT_FIELDS) {
    const value = fields[key];
    if (typeof value === 'string') out[key] = scrubText(value, params);
  }
  if (Array.isArray(params)) out.params = `[${params.length} dropped]`;
  const cause = fields.cause;
  if (isErrorLike(cause) && !seen.has(cause) && depth < MAX_CAUSE_DEPTH) out.cause = scrubOne(cause, depth + 1, seen);
  const errors = fields.errors;
  if (Array.isArray(errors) && depth < MAX_CAUSE_DEPTH) {
    out.errors = errors.filter((e) => isErrorLike(e) && !seen.has(e)).slice(0, 10).map((e) => scrubOne(e as Error, depth + 1, seen));
  }
  SCRUBBED.add(out);
  return out;
}

/** The logged object with every error in it (at any depth) replaced by its scrubbed form. */
function scrubErrorsIn(value: unknown, depth = 0): unknown {
  if (typeof value === 'object' && value !== null && SCRUBBED.has(value)) return value;
  if (isErrorLike(value)) return scrubbedError(value);
  if (depth >= MAX_WALK_DEPTH || typeof value !== 'object' || value === null || Buffer.isBuffer(value) || ArrayBuffer.isView(value)) return value;
  if (Array.isArray(value)) {
    return value.some((v) => typeof v === 'object' && v !== null) ? value.map((v) => scrubErrorsIn(v, depth + 1)) : value;
  }
  const proto = Object.getPrototypeOf(value) as unknown;
  if (proto !== Object.prototype && proto !== null) return value;
  let copy: Record<string, unknown> | null = null;
  for (const [key, inner] of Object.entries(value)) {
    const scrubbed = scrubErrorsIn(inner, depth + 1);
    if (scrubbed !== inner) (copy ??= { ...(value as Record<string, unknown>) })[key] = scrubbed;
  }
  return copy ?? value;
}
