import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { PassThrough, Readable } from 'node:stream';
import { runRedactCli } from '../../../pipeline/redact/index.ts';

async function run(input: string): Promise<{ out: string; count: number }> {
  const stdout = new PassThrough();
  let out = '';
  stdout.on('data', (c: Buffer) => { out += c.toString('utf8'); });
  const count = await runRedactCli(Readable.from([input]), stdout);
  return { out, count };
}

test('a single line gives a single JSON object', async () => {
  const { out, count } = await run('call me on 555-234-5678\n');
  assert.is(count, 1);
  assert.equal(JSON.parse(out), { text: 'call me on [PHONE]', entities: [{ type: 'PHONE', start: 11, end: 18 }] });
});

test('several lines give JSON Lines, one per input line, in order, empty lines kept', async () => {
  const { out, count } = await run('ssn 123-45-6789\r\n\nno pii\nmy email is a.b@c.io');
  assert.is(count, 4);
  const lines = out.trimEnd().split('\n').map((l) => JSON.parse(l));
  assert.equal(lines.map((l) => l.text), ['ssn [SSN]', '', 'no pii', 'my email is [EMAIL]']);
  assert.equal(lines[3].entities, [{ type: 'EMAIL', start: 12, end: 19 }]);
});

test('input split across chunks mid-line is read whole', async () => {
  const stdout = new PassThrough();
  let out = '';
  stdout.on('data', (c: Buffer) => { out += c.toString('utf8'); });
  await runRedactCli(Readable.from(['my card is 4111 11', '11 1111 1111\n']), stdout);
  assert.is(JSON.parse(out).text, 'my card is [CARD]');
});

test('empty input writes nothing', async () => {
  const { out, count } = await run('');
  assert.is(out, '');
  assert.is(count, 0);
});

test.run();
