import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { SIMULATOR_PROFILES, startAllSimulators } from '../../../tools/simulators/index.ts';

test('profiles: instant has no added latency, typical has the documented figures', () => {
  assert.is(SIMULATOR_PROFILES.instant.sttFinalDelayMs, 0);
  assert.is(SIMULATOR_PROFILES.instant.llmTtftMs, 0);
  assert.is(SIMULATOR_PROFILES.instant.ttsTtfbMs, 0);
  assert.is(SIMULATOR_PROFILES.typical.sttFinalDelayMs, 250);
  assert.is(SIMULATOR_PROFILES.typical.llmTtftMs, 400);
  assert.is(SIMULATOR_PROFILES.typical.ttsTtfbMs, 150);
});

test('startAllSimulators starts Deepgram (one URL) and OpenAI on distinct local ports, overrides win, close() frees them', async () => {
  const sims = await startAllSimulators('typical', { llmTtftMs: 30, ttsTtfbMs: 0 });
  try {
    assert.is(sims.latency.llmTtftMs, 30);
    assert.is(sims.latency.sttFinalDelayMs, 250);
    assert.is(new Set([sims.deepgram.port, sims.openai.port]).size, 2);
    assert.is(sims.deepgramLive.port, sims.deepgram.port);
    assert.is(sims.deepgramSpeak.port, sims.deepgram.port);
    assert.match(sims.openai.baseUrl, /^http:\/\/127\.0\.0\.1:\d+\/v1$/);
    const t0 = performance.now();
    const res = await fetch(`${sims.openai.baseUrl}/chat/completions`, {
      method: 'POST', headers: { authorization: 'Bearer sk-x-0123456789', 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'x' }], stream: true }),
    });
    const reader = res.body!.getReader();
    await reader.read();
    assert.ok(performance.now() - t0 >= 25, 'the overridden ttft is applied');
    await reader.cancel();
  } finally {
    await sims.close();
  }
  const refused = await fetch(`${sims.openai.baseUrl}/chat/completions`, { method: 'POST' }).then(() => false, () => true);
  assert.ok(refused, 'closed simulators stop listening');
});

test.run();
