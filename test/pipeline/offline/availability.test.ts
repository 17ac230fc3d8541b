/** Offline provider detection: finds the installed tools, reports missing ones with a reason. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  describeOfflineProviders,
  detectEspeak,
  detectEspeakWasm,
  detectOfflineProviders,
  detectPocketsphinx,
} from '../../../pipeline/offline/index.ts';
import { hasCommand, needExternal } from '../../support/external.ts';

test('missing programs and models are reported unavailable with a reason', async () => {
  const espeak = await detectEspeak('espeak-ng-not-installed-here');
  assert.is(espeak.available, false);
  assert.match(espeak.reason ?? '', /not installed/);
  const sphinx = await detectPocketsphinx('pocketsphinx-not-installed-here');
  assert.is(sphinx.available, false);
  assert.match(sphinx.reason ?? '', /not installed/);
});

if (needExternal(hasCommand('pocketsphinx_continuous'), 'pocketsphinx_continuous', 'the model-directory check')) {
  test('pocketsphinx without its model is unavailable', async () => {
    const sphinx = await detectPocketsphinx('pocketsphinx_continuous', '/nonexistent/model');
    assert.is(sphinx.available, false);
    assert.match(sphinx.reason ?? '', /model missing/);
  });
}

if (needExternal(hasCommand('espeak-ng') && hasCommand('pocketsphinx_continuous'), 'espeak-ng and pocketsphinx', 'the installed-tools detection test')) {
  test('the installed tools are detected, with espeak-ng\'s version', async () => {
    const a = await detectOfflineProviders();
    assert.is(a.espeakNg.available, true);
    assert.match(a.espeakNg.version ?? '', /^\d+\.\d+/);
    assert.is(a.pocketsphinx.available, true);
    assert.is(a.scriptedLlm.available, true);
    const lines = describeOfflineProviders(a);
    assert.is(lines.length, 4);
    assert.ok(lines.every((l) => l.includes(': available')));
  });
}

test('the report line says why a provider is unavailable', () => {
  const lines = describeOfflineProviders({
    espeakWasm: { available: true },
    espeakNg: { available: false, reason: 'espeak-ng is not installed' },
    pocketsphinx: { available: true, modelDir: '/m' },
    scriptedLlm: { available: true },
  });
  assert.is(lines[0], 'offline TTS eSpeak NG (WebAssembly, npm): available');
  assert.is(lines[1], 'offline TTS espeak-ng (program): unavailable: espeak-ng is not installed');
  assert.is(lines[2], 'offline STT pocketsphinx: available');
  assert.is(lines.length, 4);
});

test('without pocketsphinx the report says exactly what to install', () => {
  const lines = describeOfflineProviders({
    espeakWasm: { available: true },
    espeakNg: { available: false, reason: 'espeak-ng is not installed' },
    pocketsphinx: { available: false, modelDir: '/m', reason: 'pocketsphinx_continuous is not installed (Debian: pocketsphinx)' },
    scriptedLlm: { available: true },
  });
  assert.ok(lines.some((l) => l.includes('run: sudo apt-get install pocketsphinx pocketsphinx-en-us')), lines.join('\n'));
});

test('the WebAssembly eSpeak NG is found as an npm package, and reported missing when it cannot be resolved', () => {
  assert.equal(detectEspeakWasm(), { available: true });
  const missing = detectEspeakWasm(() => {
    throw new Error('Cannot find package');
  });
  assert.is(missing.available, false);
  assert.match(missing.reason ?? '', /@echogarden\/espeak-ng-emscripten is not installed/);
});

test.run();
