/**
 * contentText: what PII checks read. Digits a clock or an identifier made by
 * chance are not content; digits in any text are, wherever they are nested.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { contentText, isMachineMade } from './content-text.ts';

test('a timing, a UUID, a SIP Call-ID, a timestamp and a blob that hold the digits are not content', () => {
  const turn = {
    role: 'agent',
    redactedText: 'Thanks, I have noted card [CARD].',
    atMs: 27691.41118746599,
    trace: { e2eMs: 4111.2 },
    callId: '0b9e4111-7c2d-4e8a-9f10-2b4c6d8e0a11',
    sipCallId: 'a94111bc0d2e3f4a5b6c7d8e@127.0.0.1',
    toUri: 'sip:2000@127.0.0.1:41117',
    contact: '<sip:agent@[::1]:44111;transport=tcp>',
    at: '2026-12-07T14:59:25.411123+00:00',
    wrappedKey: '\\x4111aa',
    audio: Buffer.alloc(4200),
    when: new Date(),
  };
  assert.ok(JSON.stringify(turn).includes('4111'), 'the check this replaces would have failed');
  const text = contentText([turn]);
  assert.not.ok(text.includes('4111'), text);
  assert.ok(text.includes('Thanks, I have noted card [CARD].'));
  assert.ok(text.includes('sip:2000@<address>'), 'the rest of a string around an address is kept');
});

test('digits in text are content wherever they are: values, nested values, keys, bare digit runs', () => {
  assert.ok(contentText({ redactedText: 'card 4111 1111' }).includes('4111'));
  assert.ok(contentText({ entities: [{ note: ['x', { raw: 'ends 4111' }] }] }).includes('4111'));
  assert.ok(contentText({ '4111 1111 1111 1111': true }).includes('4111'));
  assert.ok(contentText(['4111111111111111']).includes('4111'), 'a bare run of digits is not taken for a hex token');
  assert.ok(contentText({ keys: '[keypad] 4111#' }).includes('4111'));
  assert.ok(contentText({ toUri: 'sip:+14111234567@127.0.0.1:5060' }).includes('4111'), 'a number in a URI\'s user part is content');
});

test('what counts as machine-made', () => {
  for (const made of ['0b9e4111-7c2d-4e8a-9f10-2b4c6d8e0a11', 'a94111bc0d2e3f4a5b6c7d8e@127.0.0.1', 'deadbeef4111cafe', '2026-12-07T14:59:25.411Z', '2026-12-07 14:59:25.411123+00', '\\x00ff']) {
    assert.ok(isMachineMade(made), made);
  }
  for (const content of ['4111111111111111', 'my card number is 4111', 'cafe 4111', '2026-12-07 was the day I paid with 4111']) {
    assert.not.ok(isMachineMade(content), content);
  }
});

test.run();
