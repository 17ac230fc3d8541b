/**
 * Endpointing overlapped with recognition: the STT is asked to finalize at the
 * first silent VAD window, not after the hangover; the turn ends at
 * max(hangover, STT final); an STT close during the hangover is a tentative
 * turn, and speech again before the hangover ends voids it.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { DEFAULT_CONVERSATION_SETTINGS, mergeSettings, TurnDetector, type EndOfTurn } from '../../../pipeline/conversation/index.ts';

/** finalizeAfterMs 0: the first silent window asks; the default (120 ms) is tested on its own. */
function detector(finalizeAfterMs = 0) {
  const d = new TurnDetector(mergeSettings(DEFAULT_CONVERSATION_SETTINGS, { turn: { finalizeAfterMs } }), () => false, 0);
  const log: string[] = [];
  const turns: EndOfTurn[] = [];
  d.on('finalize', () => log.push('finalize'));
  d.on('tentative_turn', ({ text }) => log.push(`tentative:${text}`));
  d.on('resumed', () => log.push('resumed'));
  d.on('end_of_turn', (t) => {
    log.push(`turn:${t.text}`);
    turns.push(t);
  });
  const window = (startMs: number, probability: number): void => d.speechProgress({ startMs, endMs: startMs + 32, probability });
  return { d, log, turns, window };
}

test('finalize is asked at the first silent window, while the hangover still runs', () => {
  const { d, log, window } = detector();
  d.speechStart({ atMs: 0, detectedAtMs: 100 });
  for (let t = 0; t < 320; t += 32) window(t, 0.9);
  window(320, 0.6); // between the thresholds: not silence yet
  assert.equal(log, []);
  window(352, 0.1);
  assert.equal(log, ['finalize'], 'asked on the first window under the negative threshold');
  window(384, 0.05);
  d.speechEnd({ atMs: 576, endOfSpeechMs: 352 });
  assert.equal(log, ['finalize'], 'not asked again at VAD stop');
});

test('by default finalize waits for 120 ms of silence: a gap between words does not cut the utterance', () => {
  const { d, log, window } = detector(DEFAULT_CONVERSATION_SETTINGS.turn.finalizeAfterMs);
  d.speechStart({ atMs: 0, detectedAtMs: 100 });
  window(0, 0.9); // voiced up to 32
  window(32, 0.1); // 32 ms of silence
  window(64, 0.1); // 64 ms
  window(96, 0.9); // the next word
  assert.equal(log, [], 'a 64 ms gap is not a pause');
  window(128, 0.1); // 32 ms
  window(160, 0.1); // 64 ms
  window(192, 0.1); // 96 ms
  assert.equal(log, []);
  window(224, 0.1); // 128 ms
  assert.equal(log, ['finalize']);
});

test('the turn ends at max(hangover, final): a final during the hangover is tentative, the turn closes at VAD stop', () => {
  const { d, log, turns, window } = detector();
  d.speechStart({ atMs: 0, detectedAtMs: 100 });
  window(0, 0.9);
  window(32, 0.1);
  d.stt({ type: 'final', text: 'book a table', fromFinalize: true, speechFinal: false }, 120);
  assert.equal(log, ['finalize', 'tentative:book a table']);
  d.speechEnd({ atMs: 256, endOfSpeechMs: 32 });
  assert.equal(log, ['finalize', 'tentative:book a table', 'turn:book a table']);
  assert.is(turns[0]!.sttFinalAtMs, 120);
  assert.is(turns[0]!.vadStopMs, 256);
});

test('a final after the hangover closes the turn then (no tentative turn: the VAD already stopped)', () => {
  const { d, log } = detector();
  d.speechStart({ atMs: 0, detectedAtMs: 100 });
  d.speechProgress({ startMs: 0, endMs: 32, probability: 0.9 });
  d.speechProgress({ startMs: 32, endMs: 64, probability: 0.1 });
  d.speechEnd({ atMs: 256, endOfSpeechMs: 32 });
  assert.equal(log, ['finalize']);
  d.stt({ type: 'final', text: 'hello', fromFinalize: true, speechFinal: false }, 300);
  assert.equal(log, ['finalize', 'turn:hello']);
});

test('speech again before the hangover ends voids the tentative turn; the turn waits for the new words', () => {
  const { d, log, turns, window } = detector();
  d.speechStart({ atMs: 0, detectedAtMs: 100 });
  window(0, 0.9);
  window(32, 0.1);
  d.stt({ type: 'final', text: 'i want to book', fromFinalize: true, speechFinal: false }, 90);
  window(64, 0.9); // the caller goes on
  assert.equal(log, ['finalize', 'tentative:i want to book', 'resumed']);
  window(96, 0.9);
  window(128, 0.1);
  assert.equal(log.at(-1), 'finalize', 'finalize again for the new words');
  d.speechEnd({ atMs: 352, endOfSpeechMs: 128 });
  assert.equal(turns, [], 'the STT has not closed the new words yet');
  d.stt({ type: 'final', text: 'a table for two', fromFinalize: true, speechFinal: false }, 400);
  assert.equal(turns.map((t) => t.text), ['i want to book a table for two']);
});

test.run();
