/**
 * /metrics carries the call path's counters (src/calls/call-metrics.ts): one
 * echo call, then SIP messages, RTP packets both ways (summed over the ended
 * call), the end reason, the media thread's counters and one RTP metric per
 * field of the stats row, all with the smartalex_sip_ / smartalex_rtp_ /
 * smartalex_media_thread_ / smartalex_vad_ prefixes.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Registry } from 'prom-client';
import { CallManager, registerCallMetrics } from '../../../src/calls/index.ts';
import { createLogger } from '../../../src/log.ts';
import { RTP_COUNTERS } from '../../../media/rtp/index.ts';
import { addNumber, createAgent, createTenant, migrate, openDatabase, type Database } from '../../../storage/index.ts';
import { ownCall } from '../../e2e/support/uac.ts';
import { waitFor } from '../../support/poll.ts';

let db: Database;
let manager: CallManager;
const registry = new Registry();

test.before(async () => {
  db = await openDatabase({ dataDir: '', inMemory: true, appRole: 'smartalex_app' });
  await migrate(db);
  const tenant = await createTenant(db, { name: 'metrics' });
  const agent = await createAgent(db, tenant.id, { name: 'echo', mode: 'echo' });
  await addNumber(db, tenant.id, { number: '6000', agentId: agent.id, allowedCidrs: ['127.0.0.1/32'] });
  manager = await CallManager.start({ db, logger: createLogger('silent'), host: '127.0.0.1', port: 0, rtpTimeoutMs: 30_000, maxCallsPerTenant: 5, metrics: registry });
  registerCallMetrics(registry, manager, () => ({ batches: 7, windows: 21, largestBatch: 4, restarts: 0 }));
});

test.after(async () => {
  await manager?.close();
  await db?.close();
});

/** The value of one sample line of the exposition, e.g. `smartalex_rtp_packets_in_total` or `name{label="x"}`. */
function sample(text: string, name: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.slice(name.length + 1));
}

test('an echo call shows up in the SIP, RTP, media-thread and VAD counters', async () => {
  const call = await ownCall(manager.sipPorts.udp!, { number: '6000' });
  await call.sendTone(25);
  await waitFor('the echo to come back', () => call.received.length >= 20);
  const live = await registry.metrics();
  assert.is(sample(live, 'smartalex_sip_calls_active'), 1);
  assert.ok((sample(live, 'smartalex_media_thread_sessions') ?? 0) >= 1, 'the call runs in the media thread');
  await call.dialog.bye();
  await waitFor('the call to end', () => manager.activeCalls() === 0);
  await call.close();

  const text = await registry.metrics();
  assert.ok((sample(text, 'smartalex_sip_messages_received_total') ?? 0) >= 3, 'INVITE, ACK, BYE at least');
  assert.ok((sample(text, 'smartalex_rtp_packets_in_total') ?? 0) >= 20, `RTP in: ${sample(text, 'smartalex_rtp_packets_in_total')}`);
  assert.ok((sample(text, 'smartalex_rtp_packets_out_total') ?? 0) >= 20, 'RTP out, kept after the call ended');
  assert.is(sample(text, 'smartalex_sip_calls_ended_total{reason="remote-bye"}'), 1);
  assert.is(sample(text, 'smartalex_sip_calls_active'), 0);
  assert.is(sample(text, 'smartalex_rtp_dropped_packets_total{reason="foreign-source"}'), 0);
  assert.ok((sample(text, 'smartalex_media_thread_starts_total') ?? 0) >= 1);
  assert.is(sample(text, 'smartalex_vad_windows_total'), 21);
  // One RTP metric per field of the stats row.
  const rtpNames = new Set([...text.matchAll(/^# TYPE (smartalex_rtp_\w+) /gm)].map((m) => m[1]));
  assert.is(rtpNames.size, RTP_COUNTERS.length + 2, `per-field metrics plus drops and jitter buffer: ${[...rtpNames].join(', ')}`);
  // Names by floor, nothing else under smartalex_ from this module.
  for (const m of text.matchAll(/^# TYPE (smartalex_\w+) /gm)) {
    assert.match(m[1]!, /^smartalex_(sip|rtp|media_thread|vad)_/, m[1]);
  }
});

test.run();
