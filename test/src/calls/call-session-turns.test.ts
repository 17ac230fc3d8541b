/**
 * CallSession's shared turn count (shareTurns, on a Postgres server so the other nodes' consoles show it):
 * each turn's trace writes the running latency summary on the call row, turns that come while a write
 * waits share one statement, and without shareTurns a trace writes nothing (the single node's console
 * counts its own calls' turns from their events).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { AudioFrame, DtmfFrame } from '../../../media/audio/frames.ts';
import type { TurnTrace } from '../../../pipeline/index.ts';
import type { EndReason, PlayoutStart } from '../../../pipeline/transport.ts';
import { CallSession } from '../../../src/calls/call-session.ts';
import { SessionTransport } from '../../../src/calls/session-transport.ts';
import { createLogger } from '../../../src/log.ts';
import { createAgent, createTenant, getCall, listCallEvents, migrate, openDatabase, startCall, type AgentRow, type Database } from '../../../storage/index.ts';
import { DbProbe } from '../../../tools/bench/db-probe.ts';
import { waitFor } from '../../support/poll.ts';

class SilentTransport extends SessionTransport {
  readonly kind = 'webrtc' as const;
  readonly sampleRate = 16_000;
  onFrame(_listener: (frame: AudioFrame | DtmfFrame) => void): () => void { return () => undefined; }
  play(_pcm: Int16Array): void { /* nothing to hear */ }
  clearPlayback(): number { return 0; }
  queuedMs(): number { return 0; }
  onPlayoutStart(_listener: (event: PlayoutStart) => void): () => void { return () => undefined; }
  sendHangup(): Promise<void> { return Promise.resolve(); }
  close(_reason: EndReason): Promise<void> { return Promise.resolve(); }
}

const trace = (turn: number): TurnTrace => ({
  turn, endpointingMs: 200, sttFinalMs: 100, llmTtftMs: 300, llmFirstSentenceMs: 350, ttsTtfbMs: 150, e2eMs: 800 + turn, overheadMs: 20,
  preparedMs: 0, heldMs: 0, vadMissed: false, playoutEstimated: false,
});

let db: Database;
let tenantId: string;
let agent: AgentRow;

test.before(async () => {
  db = await openDatabase({ dataDir: '', inMemory: true, appRole: 'smartalex_app' });
  await migrate(db);
  tenantId = (await createTenant(db, { name: 'turns' })).id;
  agent = await createAgent(db, tenantId, { name: 'echo', mode: 'echo' });
});

test.after(async () => {
  await db?.close();
});

async function session(shareTurns: boolean): Promise<CallSession> {
  const row = await startCall(db, tenantId, { agentId: agent.id, direction: 'inbound', fromUri: 'sip:+15550001111@127.0.0.1', toUri: 'sip:2000@127.0.0.1', sipCallId: 'c', nodeId: 'node-a' });
  return new CallSession({
    db, logger: createLogger('silent'), tenantId, agent, callId: row.id, direction: 'inbound', transport: new SilentTransport(), taps: [],
    remoteParty: row.fromUri, shareTurns,
  });
}

const turnsOnRow = async (callId: string): Promise<number | undefined> => ((await getCall(db, tenantId, callId))?.latency as { turns?: number } | null)?.turns;

test('shareTurns: each turn writes the running turn count on the call row; turns arriving together share one write', async () => {
  const call = await session(true);
  call.trace(trace(1));
  await waitFor('the first turn on the row', async () => await turnsOnRow(call.callId) === 1, { timeoutMs: 20_000 });
  const probe = new DbProbe(db);
  probe.start();
  call.trace(trace(2));
  call.trace(trace(3));
  call.event('probe');
  await waitFor('the probe event (written after the summary)', async () => (await listCallEvents(db, tenantId, call.callId)).some((e) => e.type === 'probe'), { timeoutMs: 20_000 });
  const summaryWrites = probe.stop().byStatement.filter((st) => /^update "calls" set "latency"/.test(st.statement)).reduce((n, st) => n + st.count, 0);
  assert.is(summaryWrites, 1, 'two turns, one write');
  assert.is(await turnsOnRow(call.callId), 3);
  const latency = (await getCall(db, tenantId, call.callId))?.latency as { e2eMs: { max: number } };
  assert.is(latency.e2eMs.max, 803, 'the whole running summary, not just the count');
  await call.end('remote-bye', false);
});

test('without shareTurns a trace writes nothing', async () => {
  const call = await session(false);
  call.trace(trace(1));
  call.event('probe');
  await waitFor('the probe event', async () => (await listCallEvents(db, tenantId, call.callId)).some((e) => e.type === 'probe'), { timeoutMs: 20_000 });
  assert.is((await getCall(db, tenantId, call.callId))?.latency, null);
  await call.end('remote-bye', false);
});

test.run();
