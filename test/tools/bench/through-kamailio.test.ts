/**
 * `smartalex bench --through-kamailio`, small (issue 16): Kamailio and two `smartalex serve` nodes on a
 * scratch database of the Postgres server under test, two calls straight at node A and four through
 * Kamailio; the report has call set-up (INVITE to 200 OK) for both paths and their difference, the calls
 * each node took, how they ended (each BYE reached its node), and CPU per call. The JSON file is the same
 * report. No timing is asserted: this machine's numbers are the benchmark's business.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runThroughKamailio } from '../../../tools/bench/through-kamailio.ts';
import { hasCommand, needExternal } from '../../support/external.ts';
import { postgresUnderTest } from '../../support/databases.ts';

const adminUrl = await postgresUnderTest('the benchmark through Kamailio');
const run = adminUrl !== undefined && needExternal(hasCommand('kamailio'), 'kamailio (apt-get install kamailio)', 'the benchmark through Kamailio');

if (run) {
  test('bench --through-kamailio: set-up direct and through the proxy, calls per node, CPU per call', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'smartalex-bench-kamailio-'));
    try {
      let text = '';
      const io = { stdout: { write: (s: string) => { text += s; return true; } }, stderr: { write: () => true, isTTY: false } };
      const json = join(dir, 'kamailio.json');
      // Generous turn timeout: on a loaded machine an echo may be slow, and a missed turn is not what is tested.
      const { report, exitCode } = await runThroughKamailio({ databaseUrl: adminUrl!, calls: 4, turns: 1, warmupCalls: 0, turnTimeoutMs: 30_000, json }, io);
      assert.is(exitCode, 0, text);
      for (const path of [report.direct, report.throughKamailio]) {
        assert.is(path.answered, 4, JSON.stringify(path));
        assert.ok(path.setupInviteToOkMs && path.setupInviteToOkMs.count === 4 && path.setupInviteToOkMs.p50 > 0 && path.setupInviteToOkMs.p99 >= path.setupInviteToOkMs.p50, JSON.stringify(path));
      }
      // Every call's BYE reached its node (through Kamailio's record-route for the proxied ones).
      assert.equal(report.direct.endReasons, { 'remote-bye': 4 });
      assert.equal(report.throughKamailio.endReasons, { 'remote-bye': 4 });
      assert.match(report.direct.target, /^sip:127\.0\.0\.2:/);
      assert.match(report.throughKamailio.target, /^sip:127\.0\.0\.1:/);
      assert.is(report.proxyAddsMs.p50, Math.round((report.throughKamailio.setupInviteToOkMs!.p50 - report.direct.setupInviteToOkMs!.p50) * 10) / 10);
      assert.equal(report.nodes.map((n) => n.id), ['node-a', 'node-b']);
      assert.is(report.nodes.reduce((sum, n) => sum + n.calls, 0), 4, 'every call through Kamailio reached a node');
      assert.is(report.directNode.calls, 4);
      // Which node took how many is Kamailio's round robin and its probes (a node slow to answer one is skipped for a while): not asserted here.
      for (const node of [...report.nodes, report.directNode].filter((n) => n.calls > 0)) assert.ok(node.cpuMsPerCall !== null && node.cpuMsPerCall > 0, JSON.stringify(node));
      assert.match(text, /the proxy adds to call set-up: p50 -?[\d.]+ ms, p99 -?[\d.]+ ms/);
      assert.equal(JSON.parse(readFileSync(json, 'utf8')), report);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

test.run();
