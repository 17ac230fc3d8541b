/**
 * Logs never carry secrets or call content: redacted paths are censored and
 * error messages pass through the PII redactor.
 */
import { Writable } from 'node:stream';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createLogger } from '../../src/log.ts';
import { addDoNotCallEntry, createTenant, schema, withTenant } from '../../storage/index.ts';
import { contentText } from '../support/content-text.ts';
import { backends } from '../support/databases.ts';

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

// A real failing insert: drizzle puts the bound values in `params` and in the message, Postgres quotes
// them in `detail`. Written in a form the PII redactor would not all catch (a bare word), to prove
// the values are dropped, not merely redacted.
for (const backend of await backends()) {
  test(`[${backend.name}] a failing insert logs none of its parameters, under any key, causes included`, async () => {
    const db = await backend.open();
    try {
      const tenant = await createTenant(db, { name: 'log-leak' });
      const phone = '+14155550123';
      const reason = 'card 4111111111111111 codeword marmalade';
      await addDoNotCallEntry(db, tenant.id, { phone, reason });
      let failure: unknown;
      try {
        await withTenant(db, tenant.id, (tx) => tx.insert(schema.doNotCall).values({ tenantId: tenant.id, phone, reason }));
      } catch (error) {
        failure = error;
      }
      assert.ok(failure instanceof Error, 'the duplicate insert failed');
      assert.match(String((failure as Error).message), '4111111111111111', 'the raw error does carry the values');
      const { logger, lines } = capture();
      logger.error({ err: failure }, 'insert failed');
      logger.error(failure as Error, 'insert failed (error as the first argument)');
      logger.warn({ failure, context: { nested: { error: failure } } }, 'insert failed (other keys)');
      const out = lines();
      for (const leaked of ['4111111111111111', '4155550123', 'marmalade']) assert.not.match(out, leaked, `log output contains ${leaked}`);
      // Pieces short enough to turn up in a log line's time ("...:07.555Z") by chance are looked for in its content.
      const content = contentText(out.trim().split('\n').map((line) => JSON.parse(line) as unknown));
      for (const piece of ['4111', '555']) assert.not.match(content, piece, `log output contains ${piece}`);
      assert.match(out, 'do_not_call_tenant_phone', 'the constraint name is kept');
      assert.match(out, '23505', 'the SQLSTATE is kept');
      assert.match(out, '"params":"[3 dropped]"');
      assert.is(out.trim().split('\n').length, 3);
    } finally {
      await backend.cleanup();
    }
  });
}

test('every field of an error but the naming ones is dropped, causes walked', () => {
  const { logger, lines } = capture();
  const cause = Object.assign(new Error('upstream said: caller 4111 1111 1111 1111'), { code: 'E_UP', detail: 'row (marmalade)', where: 'marmalade fn', body: { transcript: 'marmalade' } });
  const error = Object.assign(new Error('request failed', { cause }), { params: ['marmalade'], response: { data: 'marmalade' }, status: 502 });
  logger.error({ err: error }, 'x');
  const out = lines();
  assert.not.match(out, 'marmalade');
  assert.not.match(out, '4111');
  const logged = JSON.parse(out) as { err: { status: number; cause: { code: string; message: string } } };
  assert.is(logged.err.status, 502);
  assert.is(logged.err.cause.code, 'E_UP');
  assert.match(logged.err.cause.message, 'upstream said');
});

test.run();
