import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { benchRedactor } from '../../../tools/redaction/bench.ts';

test('benchRedactor reports a rate over the corpus', () => {
  const r = benchRedactor({ lines: 50, minMs: 1 });
  assert.ok(r.linesRedacted >= 50 && r.linesRedacted % 50 === 0);
  assert.ok(r.linesPerSecond > 0 && Number.isFinite(r.linesPerSecond));
  assert.ok(r.charsPerSecond > r.linesPerSecond);
});

test.run();
