/**
 * Where PII was said or typed, through the real conversation with the
 * simulators behind the real adapters: the 'audio_redaction' events give the
 * frame-clock span of a caller's card number (from the STT's word timings),
 * of a keypad run that is masked, and of an agent sentence repeating PII;
 * never content. StreamClock maps STT stream positions back to the frame clock.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { AudioRedaction } from '../../../pipeline/conversation/index.ts';
import { StreamClock } from '../../../pipeline/conversation/stream-clock.ts';
import { speechPatternWords, synthesizeSpeechPattern } from '../../../tools/simulators/index.ts';
import { startHarness } from './helpers.ts';

const SENTENCE = 'my card number is 4111 1111 1111 1111 thank you';
const WORDS = speechPatternWords(SENTENCE);

test('StreamClock: one anchor for steady frames, a new one at a gap; positions map to the frame clock', () => {
  const c = new StreamClock();
  assert.is(c.toClock(0), undefined);
  for (let i = 0; i < 50; i++) c.push(160, 8000, 5000 + i * 20 + (i % 2)); // 1 ms of jitter: still one stretch
  for (let i = 0; i < 50; i++) c.push(160, 8000, 7000 + i * 20); // a 1 s gap in the frames (packet loss)
  assert.is(c.toClock(0), 5000);
  assert.is(c.toClock(500), 5500);
  assert.is(c.toClock(999), 5999);
  assert.is(c.toClock(1000), 7000);
  assert.is(c.toClock(1500), 7500);
  const bounded = new StreamClock(2);
  for (let i = 0; i < 4; i++) bounded.push(160, 8000, i * 1000);
  assert.is(bounded.toClock(60), 3000, 'the newest anchors are kept');
});

test('a caller turn with a card number: one CARD span over the card words, on the frame clock', async () => {
  // The VAD must not stop (and so finalize the STT) inside the sentence: Silero scores some of the tone
  // bursts low, and a Finalize makes the simulator close the segment early, giving its scripted words
  // the partial audio's timings. A low threshold and a long hangover keep the tones one stretch of speech, and
  // a long finalizeAfterMs keeps a word gap that a stall of the test process stretched beyond the transport's
  // catch-up from asking for a Finalize (the default 120 ms is two of the pattern's 60 ms gaps).
  const h = await startHarness({
    agent: { greeting: 'Hello.' }, settings: { vad: { threshold: 0.02 }, turn: { hangoverMs: 1500, finalizeAfterMs: 1000 } }, pace: 'realtime',
    sims: { deepgramLive: { transcripts: () => SENTENCE }, openai: { replies: ['Thank you.'] } },
  });
  const spans: AudioRedaction[] = [];
  h.conversation.on('audio_redaction', (s) => spans.push(s));
  try {
    await h.waitQuiet();
    // The frame clock of the sentence's frames (real-time ticks run a little late, so it is not a 20 ms grid).
    const frameTimes: number[] = [];
    h.transport.onFrame((f) => { if (f.kind === 'audio' && (frameTimes.length > 0 || f.pcm.some((v) => v !== 0))) frameTimes.push(f.timeMs); });
    const at = (ms: number): number => frameTimes[Math.floor(ms / 20)]! + (ms % 20);
    h.transport.say(synthesizeSpeechPattern(SENTENCE, 8000));
    await h.transport.waitFor(() => h.turns.some((t) => t.role === 'caller'), 15_000, 'the caller turn');
    assert.equal(h.turns.filter((t) => t.role === 'caller').map((t) => t.redactedText), ['my card number is [CARD] thank you']);
    const caller = spans.filter((s) => s.source === 'caller');
    assert.is(caller.length, 1);
    const [s] = caller;
    assert.is(s!.type, 'CARD');
    // The simulator times words in 10 ms windows: within 30 ms of the pattern's word times.
    assert.ok(Math.abs(s!.startMs - at(WORDS[4]!.startMs)) <= 30, `starts ${s!.startMs - at(WORDS[4]!.startMs)} ms off the card number's first word`);
    assert.ok(Math.abs(s!.endMs - at(WORDS[7]!.endMs)) <= 30, `ends ${s!.endMs - at(WORDS[7]!.endMs)} ms off the card number's last word`);
    assert.equal(Object.keys(s!).sort(), ['endMs', 'source', 'startMs', 'type'], 'no content');
  } finally {
    await h.close();
  }
});

test('a card number split across two caller turns: a CARD span over its words in each turn', async () => {
  const first = 'my card number is 4111 1111';
  const second = '1111 1111';
  const h = await startHarness({
    agent: { greeting: 'Hello.' }, settings: { vad: { threshold: 0.02 }, turn: { hangoverMs: 1500, finalizeAfterMs: 1000 } }, pace: 'realtime',
    sims: { deepgramLive: { transcripts: [first, second] }, openai: { replies: ['Go on.', 'Thank you.'] } },
  });
  const spans: AudioRedaction[] = [];
  h.conversation.on('audio_redaction', (x) => spans.push(x));
  try {
    await h.waitQuiet();
    const frameTimes: number[] = [];
    h.transport.onFrame((f) => { if (f.kind === 'audio' && (frameTimes.length > 0 || f.pcm.some((v) => v !== 0))) frameTimes.push(f.timeMs); });
    const at = (ms: number): number => frameTimes[Math.floor(ms / 20)]! + (ms % 20);
    const a = synthesizeSpeechPattern(first, 8000);
    const gap = new Int16Array(8000 * 2.5);
    h.transport.say(Int16Array.from([...a, ...gap, ...synthesizeSpeechPattern(second, 8000)]));
    await h.transport.waitFor(() => h.turns.filter((t) => t.role === 'caller').length >= 2, 20_000, 'both caller turns');
    assert.equal(h.turns.filter((t) => t.role === 'caller').map((t) => t.redactedText), ['my card number is [CARD]', '[CARD]']);
    const caller = spans.filter((x) => x.source === 'caller');
    assert.equal(caller.map((x) => x.type), ['CARD', 'CARD']);
    const w1 = speechPatternWords(first);
    const w2 = speechPatternWords(second);
    const secondAt = (a.length + gap.length) / 8;
    const off = (span: AudioRedaction, startMs: number, endMs: number): string => `${(span.startMs - at(startMs)).toFixed(1)} / ${(span.endMs - at(endMs)).toFixed(1)} ms`;
    assert.ok(Math.abs(caller[0]!.startMs - at(w1[4]!.startMs)) <= 30 && Math.abs(caller[0]!.endMs - at(w1[5]!.endMs)) <= 30, `first half: its two words (start / end off by ${off(caller[0]!, w1[4]!.startMs, w1[5]!.endMs)})`);
    assert.ok(Math.abs(caller[1]!.startMs - at(secondAt + w2[0]!.startMs)) <= 30 && Math.abs(caller[1]!.endMs - at(secondAt + w2[1]!.endMs)) <= 30, `second half: its two words (start / end off by ${off(caller[1]!, secondAt + w2[0]!.startMs, secondAt + w2[1]!.endMs)})`);
  } finally {
    await h.close();
  }
});

test('a masked keypad run is a span over its keys; a menu choice is not; an agent sentence repeating PII is a span, others are not', async () => {
  const h = await startHarness({
    agent: { greeting: 'Hello.' },
    settings: { keypad: { interDigitTimeoutMs: 300 } },
    sims: { deepgramLive: { transcripts: () => '' }, openai: { replies: ['You chose two.', 'So that is 4111 1111 1111 1111. Anything else?'] } },
  });
  const spans: AudioRedaction[] = [];
  h.conversation.on('audio_redaction', (s) => spans.push(s));
  try {
    await h.waitQuiet();
    h.transport.press('2');
    await h.transport.waitFor(() => h.turns.filter((t) => t.role === 'agent').length >= 2, 10_000, 'the reply to the menu choice');
    assert.equal(spans, [], 'a menu choice and a reply without PII silence nothing');
    const keyTimes: number[] = [];
    h.transport.onFrame((f) => { if (f.kind === 'dtmf') keyTimes.push(f.timeMs); });
    h.transport.press('4111111111111111#');
    assert.is(keyTimes.length, 17);
    await h.transport.waitFor(() => h.turns.filter((t) => t.role === 'agent').length >= 3, 10_000, 'the reply repeating the number');
    const keypad = spans.filter((s) => s.source === 'keypad');
    assert.is(keypad.length, 1);
    assert.is(keypad[0]!.type, 'CARD');
    assert.ok(keypad[0]!.startMs <= keyTimes[0]! - 100 && keypad[0]!.endMs >= keyTimes[16]!, 'the span covers every key (each 100 ms long)');
    const agent = spans.filter((s) => s.source === 'agent');
    assert.ok(agent.length >= 1, 'the sentence repeating the card number is silenced');
    assert.ok(agent.every((s) => s.type === 'CARD' && s.startMs >= keypad[0]!.endMs));
    const played = h.transport.played.length;
    assert.ok(played > 0);
  } finally {
    await h.close();
  }
});

test.run();
