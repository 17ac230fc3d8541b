import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { benchVault } from '../../../tools/bench/vault.ts';
import { benchAudioRedaction } from '../../../tools/bench/vault-redaction.ts';

test('benchVault encrypts and verifies the requested call-seconds and reports per-second cost', async () => {
  const result = await benchVault({ seconds: 5 });
  assert.is(result.seconds, 5);
  assert.is(result.plaintextBytes, 5 * 32_000);
  assert.ok(result.storedBytes > result.plaintextBytes);
  for (const value of [result.encryptCpuUsPerCallSecond, result.encryptMBps, result.decryptCpuUsPerCallSecond, result.decryptMBps]) {
    assert.ok(Number.isFinite(value) && value > 0);
  }
});

test('benchAudioRedaction records with and without redaction, re-seals the late half, and reports the added cost', async () => {
  const result = await benchAudioRedaction({ seconds: 60, holdMs: 3000, redactionsPerMinute: 10 });
  assert.is(result.seconds, 60);
  assert.ok(result.redactions >= 8, `redactions ${result.redactions}`);
  assert.ok(result.resealed >= Math.floor(result.redactions / 2), `late redactions re-sealed chunks (${result.resealed})`);
  assert.is(result.heldBytes, 150 * 640);
  for (const value of [result.baselineCpuUsPerCallSecond, result.redactingCpuUsPerCallSecond]) assert.ok(Number.isFinite(value) && value > 0);
  assert.ok(Number.isFinite(result.addedCpuUsPerCallSecond));
});

test.run();
