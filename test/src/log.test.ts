/**
 * Logs never carry secrets or call content: redacted paths are censored and
 * error messages pass through the PII redactor.
 */
import { Writable } from 'node:stream';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createLogger } from '../../src/log.ts';

function capture(): { logger: ReturnType<typeof createLogger>; lines: () => string } {
  const chunks: string[] = [];
  const sink = new Writable({ write(chunk, _encoding, done) { chunks.push(String(chunk)); done(); } });
  return { logger: createLogger('info', sink), lines: () => chunks.join('') };
}

test('secrets and call content are censored by path', () => {
  const { logger, lines } = capture();
  logger.info({ apiKey: 'sak_abcdefgh_secretsecret', config: { OPENAI_API_KEY: 'sk-live-123' }, turn: { text: 'my card is 4111 1111 1111 1111' } }, 'event');
  const out = lines();
  assert.not.match(out, 'secretsecret');
  assert.not.match(out, 'sk-live-123');
  assert.not.match(out, '4111');
  assert.match(out, '[redacted]');
});

test('error messages and stacks are scrubbed of PII', () => {
  const { logger, lines } = capture();
  const error = new Error('provider rejected utterance: call me at +1 415 555 0100 or jane.doe@example.com, card 4111 1111 1111 1111');
  logger.error({ err: error }, 'provider failed');
  const out = lines();
  assert.not.match(out, '555 0100');
  assert.not.match(out, 'jane.doe@example.com');
  assert.not.match(out, '4111 1111');
  assert.match(out, 'provider rejected utterance');
  assert.match(out, '[EMAIL]');
});

test('non-error values pass through unchanged', () => {
  const { logger, lines } = capture();
  logger.info({ err: 'plain string' }, 'x');
  assert.match(lines(), 'plain string');
});

test.run();
