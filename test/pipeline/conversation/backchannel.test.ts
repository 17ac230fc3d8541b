/** Backchannels ("mm-hmm", "uh huh", "got it") are not turns over the agent; anything with content is. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { isBackchannel } from '../../../pipeline/conversation/index.ts';
import { words } from '../../../pipeline/conversation/backchannel.ts';

test('words: lower case, punctuation dropped, hyphenated fillers joined', () => {
  assert.equal(words('Mm-hmm, OK!'), ['mmhmm', 'ok']);
  assert.equal(words('Uh-huh... yeah?'), ['uhhuh', 'yeah']);
  assert.equal(words("  I'm   here "), ["i'm", 'here']);
  assert.equal(words('...'), []);
});

test('common backchannels, in STT spellings, are backchannels', () => {
  for (const text of ['mm-hmm', 'Mhm.', 'uh huh', 'Uh-huh', 'yeah', 'Yep!', 'okay', 'OK sure', 'right', 'I see', 'got it', 'oh okay', 'hmm']) {
    assert.ok(isBackchannel(text), text);
  }
});

test('words that are a backchannel only together ("i see", "got it") are not one alone', () => {
  for (const text of ['I', 'see', 'got', 'it']) assert.not.ok(isBackchannel(text), text);
});

test('anything with content, or longer than three words, is a real turn', () => {
  for (const text of ['', '   ', 'no', 'stop', 'wait a second', 'yeah but no', 'yes please book it', 'okay okay okay okay', 'what time', 'I see a problem']) {
    assert.not.ok(isBackchannel(text), text);
  }
});

test.run();
