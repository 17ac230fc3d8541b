import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { tokenize } from '../../../pipeline/redact/tokens.ts';

const numbers = (text: string): string[] => tokenize(text).filter((t) => t.kind === 'number').map((t) => (t.ordinal ? `${t.digits}th` : t.digits));

test('spoken digits, doubles, triples and "oh"', () => {
  assert.equal(numbers('four one one one'), ['4', '1', '1', '1']);
  assert.equal(numbers('double five triple seven'), ['55', '777']);
  assert.equal(numbers('one oh one, oh oh seven'), ['1', '0', '1', '0', '0', '7']);
  assert.equal(numbers('oh I see'), []);
  assert.equal(numbers('double check it'), []);
});

test('compound numbers, years and ordinals', () => {
  assert.equal(numbers('twenty seven, twenty-seven, forty'), ['27', '27', '40']);
  assert.equal(numbers('nineteen eighty four'), ['19', '84']);
  assert.equal(numbers('two thousand and one, two thousand twenty four'), ['2001', '2024']);
  assert.equal(numbers('one hundred and five, twelve hundred'), ['105', '1200']);
  assert.equal(numbers('eight hundred five five five'), ['800', '5', '5', '5']);
  assert.equal(numbers('the fourteenth, twenty first, 3rd, 22nd'), ['14th', '21th', '3th', '22th']);
});

test('tokens keep original offsets, a spoken number spans its words', () => {
  const text = 'Call  twenty-seven or 4111, ok?';
  const toks = tokenize(text);
  const slice = toks.map((t) => text.slice(t.start, t.end));
  assert.equal(slice, ['Call', 'twenty-seven', 'or', '4111', ',', 'ok', '?']);
  assert.is(toks[1]!.digits, '27');
  assert.ok(toks[1]!.spaceBefore);
  assert.not.ok(toks[4]!.spaceBefore);
  assert.is(toks[5]!.lower, 'ok');
});

test('non-ASCII text and apostrophes', () => {
  const text = 'it\u2019s caf\u00e9\u00a0five';
  const toks = tokenize(text);
  assert.equal(toks.map((t) => text.slice(t.start, t.end)), ['it\u2019s', 'caf\u00e9', 'five']);
  assert.is(toks[0]!.lower, "it's");
  assert.is(toks[2]!.digits, '5');
});

test.run();
