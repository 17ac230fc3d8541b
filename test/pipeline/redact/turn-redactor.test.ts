import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { inspect } from 'node:util';
import { TurnRedactor, TurnRedactorError } from '../../../pipeline/redact/index.ts';

test('a card split across STT segments is caught at finish()', () => {
  const turn = new TurnRedactor();
  turn.add('my card number is four one one one one one one one');
  turn.add('one one one one one one one one');
  turn.add('and it expires oh four');
  turn.add('twenty seven');
  const r = turn.finish();
  assert.is(r.text, 'my card number is [CARD] and it expires [CARD_EXPIRY]');
  for (const e of r.entities) assert.is(r.text.slice(e.start, e.end), `[${e.type}]`);
});

test('a card said across two caller turns is redacted in both turns', () => {
  const turn = new TurnRedactor();
  turn.add('my card number is four one one one one one one one');
  assert.is(turn.finish().text, 'my card number is [CARD]');
  turn.add('one one one one one one one one');
  assert.is(turn.finish().text, '[CARD]');
  turn.add('and what time do you open');
  assert.is(turn.finish().text, 'and what time do you open');

  const written = new TurnRedactor();
  written.add('the card is 4111 1111 1111');
  assert.is(written.finish().text, 'the card is [CARD]');
  written.add('and the rest is 1111');
  assert.is(written.finish().text, 'and the rest is [CARD]');
});

test('the carried context reaches one turn only, and discard() forgets it', () => {
  const turn = new TurnRedactor();
  turn.add('the card number is 4111 1111');
  turn.finish();
  turn.add('let me check');
  turn.finish();
  turn.add('1111 1111');
  assert.is(turn.finish().text, '1111 1111', 'two turns later the digits stand alone');
  turn.add('my card number is 4111 1111');
  turn.finish();
  turn.discard();
  turn.add('1111 1111');
  assert.is(turn.finish().text, '1111 1111');
});

test('an email and a phone number split across segments', () => {
  const turn = new TurnRedactor();
  for (const s of ['my email is john dot', 'smith at gmail', 'dot com and my number is five five five', 'two three four', 'five six seven eight']) turn.add(s);
  assert.is(turn.finish().text, 'my email is [EMAIL] and my number is [PHONE]');
});

test('segments are trimmed and joined with single spaces; empty segments are ignored', () => {
  const turn = new TurnRedactor();
  turn.add('  hello ');
  turn.add('');
  turn.add('   ');
  turn.add('world  ');
  assert.is(turn.segmentCount, 2);
  assert.is(turn.finish().text, 'hello world');
});

test('finish() starts a new turn; discard() drops the raw text', () => {
  const turn = new TurnRedactor();
  turn.add('ssn 123-45-6789');
  assert.is(turn.finish().text, 'ssn [SSN]');
  assert.is(turn.segmentCount, 0);
  assert.is(turn.finish().text, '');
  turn.add('call 555-234-5678');
  turn.discard();
  assert.is(turn.finish().text, '');
});

test('raw text never shows in toString, inspect, JSON or errors', () => {
  const secret = '4111 1111 1111 1111';
  const turn = new TurnRedactor({ maxChars: 40 });
  turn.add(`card ${secret}`);
  for (const shown of [String(turn), inspect(turn), JSON.stringify(turn), `${turn}`]) {
    assert.not.ok(shown.includes('4111'), shown);
    assert.ok(shown.includes('1'), shown);
  }
  let error: unknown;
  try { turn.add(`and again ${secret} ${secret}`); } catch (e) { error = e; }
  assert.ok(error instanceof TurnRedactorError);
  assert.not.ok(String(error).includes('4111'));
  assert.not.ok(inspect(error).includes('4111'));
  assert.throws(() => turn.add(42 as unknown as string), (e: unknown) => e instanceof TurnRedactorError && !String(e).includes('42'));
  assert.is(turn.finish().text, 'card [CARD]');
});

test.run();
