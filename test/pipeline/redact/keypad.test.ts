import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { redactKeypad } from '../../../pipeline/redact/index.ts';

const out = (keys: string): string => redactKeypad(keys).text;

test('menu choices (up to three digits) stay as typed', () => {
  for (const keys of ['1', '2#', '*9', '204#', '#', '*', '1*2']) assert.is(out(keys), keys, keys);
});

test('a card-length run is a card whatever its check digit', () => {
  assert.is(out('4111111111111111#'), '[CARD]#');
  assert.is(out('4111111111111112'), '[CARD]');
  assert.is(out('1234567890123'), '[CARD]');
});

test('SSN- and phone-shaped runs get their tag; any other run of four or more digits is masked', () => {
  assert.is(out('123456789#'), '[SSN]#');
  assert.is(out('5552345678#'), '[PHONE]#');
  assert.is(out('1234#'), '[DIGITS]#');
  assert.is(out('00123456#'), '[DIGITS]#');
  // the count is over the whole run: digits split by * are still digits
  assert.is(out('1*2*3*4'), '[DIGITS]*[DIGITS]*[DIGITS]*[DIGITS]');
});

test('entity offsets point at their tags', () => {
  const r = redactKeypad('*12345678*4111111111111111#');
  assert.is(r.text, '*[DIGITS]*[CARD]#');
  for (const e of r.entities) assert.is(r.text.slice(e.start, e.end), `[${e.type}]`);
});

test.run();
