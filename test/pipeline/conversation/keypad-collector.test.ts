import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { inspect } from 'node:util';
import { KeypadCollector } from '../../../pipeline/conversation/index.ts';

const settings = { interDigitTimeoutMs: 3000, terminator: '#' as const, maxKeys: 8 };

test('a run ends at the terminator, which it keeps', () => {
  const c = new KeypadCollector(settings);
  assert.equal(c.push('1', 0), []);
  assert.equal(c.push('2', 500), []);
  assert.ok(c.pending);
  assert.equal(c.push('#', 900), [{ keys: '12#', endedBy: 'terminator', atMs: 900 }]);
  assert.not.ok(c.pending);
  assert.is(c.deadlineMs, undefined);
});

test('a run ends when no key comes for the inter-digit timeout, measured from the last key', () => {
  const c = new KeypadCollector(settings);
  c.push('4', 1000);
  c.push('2', 2000);
  assert.is(c.deadlineMs, 5000);
  assert.is(c.due(4999), undefined);
  assert.equal(c.due(5000), { keys: '42', endedBy: 'timeout', atMs: 5000 });
  assert.is(c.due(9000), undefined);
});

test('a key after an unnoticed timeout closes the old run and starts a new one', () => {
  const c = new KeypadCollector(settings);
  c.push('1', 0);
  assert.equal(c.push('#', 10_000), [{ keys: '1', endedBy: 'timeout', atMs: 3000 }, { keys: '#', endedBy: 'terminator', atMs: 10_000 }]);
});

test('maxKeys cuts a run; flush ends it; other characters are ignored', () => {
  const c = new KeypadCollector(settings);
  for (let i = 0; i < 7; i++) assert.equal(c.push('9', i), []);
  assert.equal(c.push('9', 7), [{ keys: '99999999', endedBy: 'length', atMs: 7 }]);
  assert.equal(c.push('x', 8), []);
  assert.equal(c.push('12', 8), []);
  c.push('*', 9);
  c.push('A', 10);
  assert.equal(c.flush(11), { keys: '*A', endedBy: 'flush', atMs: 11 });
  assert.is(c.flush(12), undefined);
});

test('no terminator: only the pause ends a run', () => {
  const c = new KeypadCollector({ ...settings, terminator: '' });
  assert.equal(c.push('#', 0), []);
  assert.equal(c.due(3000), { keys: '#', endedBy: 'timeout', atMs: 3000 });
});

test('the keys never show in toString, inspect or JSON', () => {
  const c = new KeypadCollector(settings);
  for (const k of '4111') c.push(k, 0);
  for (const shown of [String(c), inspect(c), JSON.stringify(c)]) assert.not.ok(shown.includes('411'), shown);
});

test.run();
