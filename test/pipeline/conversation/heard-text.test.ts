/**
 * What the caller heard of a reply cut off by a barge-in: whole sentences,
 * then the words of the sentence in progress in proportion, never the first
 * digits of a card or phone number in clear (the cut takes the whole piece,
 * so redaction recognises it).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { heardText } from '../../../pipeline/conversation/playout-ledger.ts';
import { redact } from '../../../pipeline/redact/index.ts';

test('whole sentences, then the words heard of the one in progress', () => {
  const spans = [
    { text: 'Hello there.', startMs: 0, endMs: 1000 },
    { text: 'One two three four five six seven eight.', startMs: 1000, endMs: 3000 },
    { text: 'Never heard.', startMs: 3000, endMs: 4000 },
  ];
  assert.is(heardText(spans, 0), '');
  assert.is(heardText(spans, 1000), 'Hello there.');
  assert.is(heardText(spans, 2000), 'Hello there. One two three four...');
  assert.is(heardText(spans, 3000), 'Hello there. One two three four five six seven eight.');
});

test('a cut inside a card number takes the whole number, so the transcript holds [CARD], not its first digits', () => {
  const text = 'Thank you. I have noted the card 4111 1111 1111 1111. Anything else?';
  const spans = [{ text, startMs: 0, endMs: 10_000 }];
  const words = text.split(' ');
  const at = words.indexOf('4111') + 1; // the cut falls just after the first group of digits
  const heard = heardText(spans, Math.ceil((at / words.length) * 10_000));
  assert.is(heard, 'Thank you. I have noted the card 4111 1111 1111 1111...');
  assert.is(redact(heard).text, 'Thank you. I have noted the card [CARD]...');
  assert.not.match(redact(heardText(spans, 6000)).text, /\d/, 'no cut leaves digits');
  for (let ms = 0; ms <= 10_000; ms += 250) assert.not.match(redact(heardText(spans, ms)).text, /\d/, `cut at ${ms} ms`);
});

test('a cut inside a spoken phone number takes the whole number too', () => {
  const text = 'You can call us on 415 555 0134 any time.';
  const spans = [{ text, startMs: 0, endMs: 5000 }];
  for (let ms = 0; ms <= 5000; ms += 100) assert.not.match(redact(heardText(spans, ms)).text, /\d/, `cut at ${ms} ms`);
});

test.run();
