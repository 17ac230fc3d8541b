import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { benchVault } from '../../../storage/vault/index.ts';

test('benchVault encrypts and verifies the requested call-seconds and reports per-second cost', async () => {
  const result = await benchVault({ seconds: 5 });
  assert.is(result.seconds, 5);
  assert.is(result.plaintextBytes, 5 * 32_000);
  assert.ok(result.storedBytes > result.plaintextBytes);
  for (const value of [result.encryptCpuUsPerCallSecond, result.encryptMBps, result.decryptCpuUsPerCallSecond, result.decryptMBps]) {
    assert.ok(Number.isFinite(value) && value > 0);
  }
});

test.run();
