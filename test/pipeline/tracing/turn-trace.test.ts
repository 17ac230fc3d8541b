/** TurnTimer derives DESIGN.md's latency fields; the histograms land on the given Registry once. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Registry } from 'prom-client';
import { latencyMetrics, summarize, TurnTimer } from '../../../pipeline/tracing/index.ts';

test('fields follow the vocabulary; overhead is the server own gaps, e2e minus endpointing and provider time', () => {
  const t = new TurnTimer(1);
  t.mark('endOfSpeech', 1000);
  t.mark('vadStop', 1210);
  t.mark('sttFinal', 1260);
  t.mark('llmStart', 1262);
  t.mark('llmFirstToken', 1400);
  t.mark('llmFirstSentence', 1450);
  t.mark('ttsStart', 1451);
  t.mark('ttsFirstByte', 1551);
  t.mark('firstAudioQueued', 1555);
  t.mark('playout', 1560);
  t.mark('playout', 9999); // only the first mark counts
  const trace = t.finish()!;
  assert.equal(trace, {
    turn: 1, endpointingMs: 210, sttFinalMs: 50, llmTtftMs: 138, llmFirstSentenceMs: 188, ttsTtfbMs: 100,
    e2eMs: 560, overheadMs: 2 + 1 + 4 + 5, preparedMs: 0, heldMs: 0, vadMissed: false, playoutEstimated: false,
  });
  assert.is(trace.overheadMs, trace.e2eMs - trace.endpointingMs - trace.sttFinalMs - trace.llmFirstSentenceMs - trace.ttsTtfbMs);
});

function markedUpTo(playout: number, estimated: boolean): TurnTimer {
  const t = new TurnTimer(3);
  t.mark('endOfSpeech', 0);
  t.mark('vadStop', 200);
  t.mark('sttFinal', 200);
  t.mark('llmStart', 201);
  t.mark('llmFirstSentence', 301);
  t.mark('ttsStart', 301);
  t.mark('ttsFirstByte', 401);
  t.mark('firstAudioQueued', 402);
  t.playoutEstimated = estimated;
  t.mark('playout', playout);
  return t;
}

test('overhead is never negative when the pacer stamps a tick before the audio was queued', () => {
  const trace = markedUpTo(395, false).finish()!;
  assert.is(trace.overheadMs, 1 + 1);
  assert.is(trace.e2eMs, 395);
});

test('waiting behind earlier agent audio is in e2e but not in overhead', () => {
  const trace = markedUpTo(5402, true).finish()!;
  assert.is(trace.e2eMs, 5402);
  assert.is(trace.overheadMs, 1 + 1);
  assert.ok(trace.playoutEstimated);
});

test('a turn held behind the AI disclosure: the wait is heldMs, in e2e, not overhead', () => {
  const t = markedUpTo(3402, false);
  // the same marks, but the turn was released 2000 ms after its end (the disclosure was playing)
  const held = new TurnTimer(4);
  held.mark('endOfSpeech', 0);
  held.mark('vadStop', 200);
  held.mark('sttFinal', 200);
  held.mark('released', 2200);
  held.mark('llmStart', 2201);
  held.mark('llmFirstSentence', 2301);
  held.mark('ttsStart', 2301);
  held.mark('ttsFirstByte', 2401);
  held.mark('firstAudioQueued', 2402);
  held.mark('playout', 2403);
  const trace = held.finish()!;
  assert.is(trace.heldMs, 2000);
  assert.is(trace.overheadMs, 1 + 1 + 1);
  assert.is(trace.e2eMs, 2403);
  assert.is(t.finish()!.heldMs, 0);
});

test('no trace before playout', () => {
  const t = new TurnTimer(2);
  t.mark('endOfSpeech', 5);
  assert.is(t.finish(), undefined);
});

test('histograms are registered once per registry and observe traces', async () => {
  const registry = new Registry();
  const m = latencyMetrics(registry);
  assert.is(latencyMetrics(registry), m);
  m.observe({ turn: 1, endpointingMs: 200, sttFinalMs: 0, llmTtftMs: 10, llmFirstSentenceMs: 12, ttsTtfbMs: 5, e2eMs: 230, overheadMs: 3, preparedMs: 0, heldMs: 0, vadMissed: false, playoutEstimated: false });
  m.failure('llm', 'openai');
  const text = await registry.metrics();
  for (const name of ['e2e', 'overhead', 'endpointing', 'stt_final', 'llm_ttft', 'tts_ttfb']) assert.match(text, `smartalex_turn_${name}_ms_count 1`);
  assert.match(text, 'smartalex_provider_failures_total{stage="llm",provider="openai"} 1');
  m.speculation?.('wasted');
  m.speculation?.('wasted');
  m.speculation?.('used');
  const after = await registry.metrics();
  assert.match(after, 'smartalex_speculative_replies_total{outcome="wasted"} 2');
  assert.match(after, 'smartalex_speculative_replies_total{outcome="used"} 1');
});

test('an answer prepared during the hangover: its provider time before the turn ended is preparedMs, held audio is not overhead', () => {
  const t = new TurnTimer(1);
  t.mark('endOfSpeech', 1000);
  t.mark('llmStart', 1100); // on the STT final, during the hangover
  t.mark('llmFirstToken', 1120);
  t.mark('llmFirstSentence', 1130);
  t.mark('ttsStart', 1130);
  t.mark('ttsFirstByte', 1150);
  t.mark('vadStop', 1224); // the turn ends here; the audio was held until now
  t.mark('sttFinal', 1224);
  t.mark('firstAudioQueued', 1225);
  t.mark('playout', 1240);
  const trace = t.finish()!;
  assert.is(trace.preparedMs, 50);
  assert.is(trace.overheadMs, 16, 'queue 1 ms after the turn ended + 15 ms to the first packet, not the 75 ms held');
  assert.is(trace.e2eMs, 240);
  const parts = trace.endpointingMs + trace.sttFinalMs + trace.llmFirstSentenceMs + trace.ttsTtfbMs + trace.overheadMs - trace.preparedMs;
  assert.is(parts, trace.e2eMs);
});

test('summarize gives percentiles', () => {
  const s = summarize(Array.from({ length: 100 }, (_, i) => i + 1))!;
  assert.equal([s.p50, s.p99, s.max, s.count], [50, 99, 100, 100]);
});

test.run();
