/** Offline provider detection: finds the installed tools, reports missing ones with a reason. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  describeOfflineProviders,
  detectEspeak,
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
    assert.is(lines.length, 3);
    assert.ok(lines.every((l) => l.includes(': available')));
  });
}

test('the report line says why a provider is unavailable', () => {
  const lines = describeOfflineProviders({
    espeakNg: { available: false, reason: 'espeak-ng is not installed' },
    pocketsphinx: { available: true, modelDir: '/m' },
    scriptedLlm: { available: true },
  });
  assert.is(lines[0], 'offline TTS espeak-ng: unavailable: espeak-ng is not installed');
  assert.is(lines[1], 'offline STT pocketsphinx: available');
});

test.run();
