/**
 * Structured JSON logs (pino). Secrets and call content are redacted by path,
 * so a careless `log.info({ config })` or `{ transcript }` cannot leak them.
 * Call content (transcripts, audio, SDP bodies, digest responses) must not be
 * logged at all; the redaction list is the safety net, not the policy.
 */
import { pino, type Logger } from 'pino';

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

export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  const options = {
    level,
    base: { service: 'smartalex-media' },
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  return destination ? pino(options, destination as pino.DestinationStream) : pino(options);
}
