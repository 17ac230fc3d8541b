/** Offline mode: pocketsphinx STT, the scripted agent and espeak-ng TTS give a spoken reply with no network. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { EspeakTextToSpeech, PocketsphinxSpeechToText, ScriptedLanguageModel } from '../../../pipeline/offline/index.ts';
import { hasCommand, needExternal } from '../../support/external.ts';
import { startHarness } from './helpers.ts';

test('espeak-ng + scripted LLM + pocketsphinx answer a caller', async () => {
  if (!needExternal(hasCommand('espeak-ng'), 'espeak-ng', 'the offline conversation test')) return;
  if (!needExternal(hasCommand('pocketsphinx_continuous'), 'pocketsphinx', 'the offline conversation test')) return;
  const h = await startHarness({
    sampleRate: 16_000,
    agent: { greeting: 'Hello.' },
    providers: () => ({ stt: new PocketsphinxSpeechToText(), llm: new ScriptedLanguageModel(), tts: new EspeakTextToSpeech() }),
  });
  try {
    await h.waitQuiet(15_000);
    const before = h.transport.played.length;
    h.transport.sayFixture('what-time-open-16k.wav');
    await h.transport.waitFor(() => h.turns.filter((t) => t.role === 'agent').length >= 2, 20_000, 'the spoken reply');
    assert.ok(h.transport.played.length > before, 'reply audio was played');
    assert.equal(h.llm.calls.length, 1);
    assert.equal(h.turns.map((t) => t.role), ['agent', 'caller', 'agent']);
  } finally {
    await h.close();
  }
});

test.run();
