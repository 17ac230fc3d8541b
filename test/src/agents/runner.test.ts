/**
 * The runner the call manager invokes: server configuration pointing at the
 * simulators, one call on a fake transport; turns and traces reach the
 * call's record, and the promise resolves when the call ends.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Registry } from 'prom-client';
import { createConversationRunner } from '../../../src/agents/index.ts';
import type { CallRecordWriter } from '../../../src/calls/index.ts';
import { keypadReprompt, withKeypadNotice } from '../../../src/agents/runner.ts';
import { keypadMenuText, REPROMPT } from '../../../pipeline/index.ts';
import { createLogger } from '../../../src/log.ts';
import type { AgentRow } from '../../../storage/index.ts';
import { startAllSimulators } from '../../../tools/simulators/index.ts';
import type { ConversationTurn, TurnTrace } from '../../../pipeline/index.ts';
import { FakeTransport } from '../../support/fake-transport.ts';

const agent: AgentRow = {
  id: '00000000-0000-4000-8000-000000000001', tenantId: '00000000-0000-4000-8000-000000000002', name: 'demo', mode: 'conversation',
  prompt: 'Be brief.', greeting: 'Welcome.', voice: 'default', providerSettings: {}, recordingEnabled: true, retentionDays: null,
  transferTarget: null, createdAt: new Date(),
} as AgentRow;

test('runs a call with the configured providers and reports turns and traces', async () => {
  const sims = await startAllSimulators('instant', {
    deepgramLive: { transcripts: ['thank you goodbye'] },
    openai: { replies: [{ text: 'Goodbye!', toolCalls: [{ name: 'end_call', arguments: {} }] }] },
  });
  const transport = new FakeTransport(8000, 'fast');
  const registry = new Registry();
  const turns: Array<[string, ConversationTurn]> = [];
  const traces: TurnTrace[] = [];
  try {
    const run = createConversationRunner({
      config: {
        DEEPGRAM_API_KEY: 'k', DEEPGRAM_BASE_URL: sims.deepgramLive.url, OPENAI_API_KEY: 'k', OPENAI_BASE_URL: sims.openai.baseUrl,
        SMARTALEX_LLM_MODEL: 'gpt-4o-mini',
      },
      offline: { espeakWasm: { available: false }, espeakNg: { available: false }, pocketsphinx: { available: false, modelDir: '' }, scriptedLlm: { available: true } },
      logger: createLogger('silent'),
      metrics: registry,
      clock: () => () => transport.now(),
    });
    // Deepgram TTS and STT share one simulator base URL in production; here STT and TTS simulators differ,
    // so point TTS at OpenAI through the agent's settings.
    const record: CallRecordWriter = {
      event: () => undefined, failure: () => undefined, outcome: () => undefined, redactAudio: () => undefined,
      turn: (turn) => void turns.push(['call-1', turn]),
      trace: (trace) => void traces.push(trace),
    };
    const call = run({
      tenantId: agent.tenantId, agentId: agent.id, agent: { ...agent, providerSettings: { tts: { provider: 'openai' } } }, callId: 'call-1', direction: 'inbound',
      transport, record, logger: createLogger('silent'),
    });
    transport.start();
    await transport.waitFor(() => turns.length > 0 && transport.queuedMs() === 0, 10_000, 'the greeting');
    transport.sayFixture('yes-please-8k.wav');
    const end = await call;
    assert.equal(end.reason, 'agent_end_call');
    assert.ok(turns.every(([id]) => id === 'call-1'));
    assert.equal(turns.map(([, t]) => t.role), ['agent', 'caller', 'agent']);
    assert.equal(traces.length, 1);
    const exported = await registry.metrics();
    assert.match(exported, /smartalex_turn_e2e_ms_count 1/);
    assert.match(exported, /smartalex_turn_overhead_ms_bucket/);
    for (const stage of ['stt', 'llm', 'tts']) {
      assert.match(exported, new RegExp(`smartalex_provider_latency_ms_count\\{stage="${stage}",provider="[^"]+"\\} 1`), `${stage} latency by provider`);
    }
  } finally {
    transport.close();
    await sims.close();
  }
});

test('without speech recognition the greeting and the reprompt offer the keypad (the menu with the scripted agent)', () => {
  const menu = keypadMenuText();
  const scripted = withKeypadNotice('Welcome.', true);
  assert.ok(scripted.startsWith("Welcome. I can't understand speech on this line yet"), scripted);
  assert.ok(scripted.endsWith(menu), scripted);
  assert.match(withKeypadNotice(null, false), /^I can't understand speech.*press the hash key\.$/);
  assert.is(keypadReprompt(true), `${REPROMPT} ${menu}`);
  assert.match(keypadReprompt(false), /keypad/);
});

test.run();
