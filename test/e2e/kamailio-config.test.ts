/**
 * deploy/kamailio/kamailio.cfg parses on Debian's Kamailio 5.6 (`kamailio -c`), both as the tests run it
 * (UDP on loopback) and with WITH_TLS (the tls module from kamailio-tls-modules, listening for carriers
 * over TLS), so the variant no test call exercises is checked too.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hasCommand, needExternal } from '../support/external.ts';
import { KAMAILIO_CFG } from './support/kamailio.ts';

const run = needExternal(hasCommand('kamailio'), 'kamailio (apt-get install kamailio kamailio-tls-modules)', 'the Kamailio configuration check');

function check(defines: string[]): { status: number | null; output: string } {
  const dir = mkdtempSync(join(tmpdir(), 'smartalex-kamcfg-'));
  try {
    writeFileSync(join(dir, 'nodes.list'), '1 sip:127.0.0.2:5060\n1 sip:127.0.0.3:5060\n');
    const args = ['-c', '-f', KAMAILIO_CFG, '-l', 'udp:127.0.0.1:5060', '-A', `DISPATCHER_LIST="${join(dir, 'nodes.list')}"`, ...defines.flatMap((d) => ['-A', d])];
    const r = spawnSync('kamailio', args, { encoding: 'utf8', timeout: 30_000 });
    return { status: r.status, output: `${r.stdout}${r.stderr}` };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (run) {
  test('kamailio -c accepts the configuration as the tests run it', () => {
    const r = check([]);
    assert.is(r.status, 0, r.output);
    assert.match(r.output, /config file ok/);
  });

  test('kamailio -c accepts it with WITH_TLS (TLS towards carriers)', () => {
    const r = check(['WITH_TLS']);
    assert.is(r.status, 0, r.output);
    assert.match(r.output, /config file ok/);
  });
}

test.run();
