/** SentenceSplitter: sentences out of a token stream as they complete, never cut at decimals, abbreviations or initials. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { SentenceSplitter, splitSentences } from '../../../pipeline/conversation/index.ts';

test('a sentence is released only once whitespace follows its end mark', () => {
  const s = new SentenceSplitter();
  assert.equal(s.push('Hello there'), []);
  assert.equal(s.push('.'), [], 'a trailing period may still be "3." of "3.5"');
  assert.equal(s.push(' How'), ['Hello there.']);
  assert.equal(s.push(' are you?'), []);
  assert.equal(s.flush(), ['How are you?']);
  assert.equal(s.flush(), [], 'flush empties the buffer');
});

test('streamed token by token gives the same sentences as the whole text', () => {
  const text = 'Sure! Your table is booked for 7.30 tonight. Dr. Smith will meet you, e.g. at the bar. See you soon?';
  const whole = splitSentences(text);
  assert.equal(whole, ['Sure!', 'Your table is booked for 7.30 tonight.', 'Dr. Smith will meet you, e.g. at the bar.', 'See you soon?']);
  const s = new SentenceSplitter();
  const streamed: string[] = [];
  for (const token of text.match(/.{1,3}/gs)!) streamed.push(...s.push(token));
  streamed.push(...s.flush());
  assert.equal(streamed, whole);
});

test('decimals, abbreviations and initials do not end a sentence; runs of marks and closing quotes do', () => {
  assert.equal(splitSentences('It costs 3.50 dollars. Thanks.'), ['It costs 3.50 dollars.', 'Thanks.']);
  assert.equal(splitSentences('Ask Mrs. Jones at St. Mary, etc. She knows.'), ['Ask Mrs. Jones at St. Mary, etc. She knows.']);
  assert.equal(splitSentences('J. R. Smith called. Call back.'), ['J. R. Smith called.', 'Call back.']);
  assert.equal(splitSentences('Really?! Yes. "Done." (Fine.) Ok'), ['Really?!', 'Yes.', '"Done."', '(Fine.)', 'Ok']);
  assert.equal(splitSentences('End of line.\nNext line.'), ['End of line.', 'Next line.']);
});

test('a run-on clause is cut at its last comma or space before maxChars, never mid-word', () => {
  const s = new SentenceSplitter(40);
  const long = 'one two three four five six seven eight nine ten eleven twelve, thirteen fourteen';
  const out = [...s.push(long), ...s.flush()];
  assert.ok(out.length >= 2, JSON.stringify(out));
  for (const piece of out) assert.ok(piece.length <= 40, piece);
  assert.is(out.join(' '), long, 'nothing lost or reordered');
  for (const piece of out.slice(0, -1)) assert.ok(/[\w,]$/.test(piece) && !/\s$/.test(piece), piece);
  // No space at all: a hard cut at maxChars.
  const hard = new SentenceSplitter(10);
  assert.equal(hard.push('abcdefghijklmnopqrstuvwxyz'), ['abcdefghij', 'klmnopqrst']);
  assert.equal(hard.flush(), ['uvwxyz']);
});

test('empty and whitespace-only input give no sentences', () => {
  assert.equal(splitSentences(''), []);
  assert.equal(splitSentences('   \n '), []);
});

test.run();
