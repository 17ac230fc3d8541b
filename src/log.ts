/**
 * Structured JSON logs (pino). Secrets and call content are redacted by path,
 * so a careless `log.info({ config })` or `{ transcript }` cannot leak them.
 * Call content (transcripts, audio, SDP bodies, digest responses) must not be
 * logged at all; the redaction list is the safety net, not the policy.
 */
import { pino, stdSerializers, type Logger } from 'pino';
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
    serializers: { err: scrubbedError, error: scrubbedError },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  return destination ? pino(options, destination as pino.DestinationStream) : pino(options);
}

/**
 * Error messages can carry what a caller said or typed (a provider echoing a
 * transcript, a database error quoting a value): messages and stacks pass
 * through the PII redactor before they are written.
 */
export function scrubbedError(error: unknown): unknown {
  if (!(error instanceof Error)) return error;
  const serialized = stdSerializers.err(error) as unknown as Record<string, unknown>;
  for (const field of ['message', 'stack'] as const) {
    const value = serialized[field];
    if (typeof value === 'string') serialized[field] = redact(value).text;
  }
  return serialized;
}
