/** Provider selection: keys and agent settings choose cloud providers, offline stands in, the report line tells what is missing. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { chooseProviders, describeProviders, ProviderSettingsError, type ProviderEnvironment } from '../../../src/agents/index.ts';

const offline = (espeak: boolean, sphinx: boolean, wasm = espeak): ProviderEnvironment['offline'] => ({
  espeakWasm: wasm ? { available: true } : { available: false, reason: 'npm package @echogarden/espeak-ng-emscripten is not installed' },
  espeakNg: espeak ? { available: true } : { available: false, reason: 'espeak-ng is not installed' },
  pocketsphinx: sphinx ? { available: true, modelDir: '/m' } : { available: false, modelDir: '/m', reason: 'pocketsphinx_continuous is not installed' },
  scriptedLlm: { available: true },
});
const base = { SMARTALEX_LLM_MODEL: 'gpt-4o-mini' } as ProviderEnvironment['config'];
const cloud: ProviderEnvironment = { config: { ...base, DEEPGRAM_API_KEY: 'dg-secret-1234', OPENAI_API_KEY: 'sk-secret-5678' }, offline: offline(true, true) };

test('with both keys: Deepgram STT and TTS, OpenAI LLM', () => {
  const c = chooseProviders({ providerSettings: {} }, cloud);
  assert.equal(c.stt, { kind: 'deepgram', model: 'nova-3' });
  assert.equal(c.llm, { kind: 'openai', model: 'gpt-4o-mini' });
  assert.equal(c.tts, { kind: 'deepgram', model: 'aura-2-thalia-en' });
  assert.equal(c.missing, []);
});

test('agent settings pick among what is available', () => {
  const c = chooseProviders({ providerSettings: { tts: { provider: 'openai', voice: 'nova' }, llm: { model: 'gpt-4.1', temperature: 0.2 } } }, cloud);
  assert.equal(c.tts, { kind: 'openai', voice: 'nova', model: 'gpt-4o-mini-tts' });
  assert.equal(c.llm, { kind: 'openai', model: 'gpt-4.1', temperature: 0.2 });
});

test('no keys: offline providers, and the report says what is missing without secrets', () => {
  const env: ProviderEnvironment = { config: base, offline: offline(true, true) };
  const c = chooseProviders({ providerSettings: {} }, env);
  assert.equal([c.stt.kind, c.llm.kind, c.tts.kind], ['pocketsphinx', 'scripted', 'espeak-wasm']);
  const line = describeProviders({ name: 'demo', providerSettings: {} }, env);
  assert.match(line, /STT pocketsphinx, LLM scripted, TTS espeak-wasm/);
  assert.match(line, /no OPENAI_API_KEY/);
  const cloudLine = describeProviders({ name: 'demo', providerSettings: {} }, cloud);
  assert.not.match(cloudLine, /secret/);
});

test('nothing installed: no STT and no TTS are reported', () => {
  const c = chooseProviders({ providerSettings: {} }, { config: base, offline: offline(false, false) });
  assert.equal([c.stt.kind, c.tts.kind], ['none', 'none']);
  assert.ok(c.missing.some((m) => m.startsWith('no TTS')));
});

test('no keys and no Debian packages: the WebAssembly eSpeak NG speaks and the missing STT says the keypad stands in', () => {
  const c = chooseProviders({ providerSettings: {} }, { config: base, offline: offline(false, false, true) });
  assert.equal(c.tts, { kind: 'espeak-wasm', voice: 'en-us' });
  assert.equal(c.stt.kind, 'none');
  assert.ok(c.missing.some((m) => /no STT: .*keypad/.test(m)), c.missing.join('; '));
  assert.not.ok(c.missing.some((m) => m.startsWith('no TTS')));
});

test('the Debian espeak-ng program is used when asked for and installed; otherwise the WebAssembly build stands in', () => {
  const settings = { providerSettings: { tts: { provider: 'espeak', voice: 'en-gb' } } };
  assert.equal(chooseProviders(settings, { config: base, offline: offline(true, true) }).tts, { kind: 'espeak', voice: 'en-gb' });
  const without = chooseProviders(settings, { config: base, offline: offline(false, true, true) });
  assert.equal(without.tts, { kind: 'espeak-wasm', voice: 'en-gb' });
  assert.ok(without.missing.some((m) => /TTS espeak requested/.test(m)));
  // Without the npm package (a broken install) the program still speaks.
  assert.equal(chooseProviders({ providerSettings: {} }, { config: base, offline: offline(true, true, false) }).tts, { kind: 'espeak', voice: 'en-us' });
});

test('a tenant key is used over the server-wide absence of one', () => {
  const c = chooseProviders({ providerSettings: {} }, { config: base, offline: offline(true, true), tenantKeys: { openaiApiKey: 'sk-tenant' } });
  assert.equal(c.llm.kind, 'openai');
  assert.equal(c.tts.kind, 'openai');
});

test('invalid settings are one clear line', () => {
  assert.throws(() => chooseProviders({ providerSettings: { tts: { provider: 'polly' } } }, cloud), (e: unknown) => e instanceof ProviderSettingsError && /provider_settings\.tts\.provider/.test((e as Error).message));
});

test.run();
