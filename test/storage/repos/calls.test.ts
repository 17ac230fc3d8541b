/**
 * Calls repo on both backends: a call row written at start, answered,
 * finished once, outcome fields, events in order, and nothing crossing tenants.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { randomUUID } from 'node:crypto';
import {
  addCallEvent, createAgent, createTenant, finishCall, getCall, listCallEvents, listCalls, markCallAnswered, recordCallOutcome, startCall,
} from '../../../storage/index.ts';
import { backends } from '../../support/databases.ts';

for (const backend of await backends()) {
  const db = await backend.open();
  const tenant = await createTenant(db, { name: 'calls' });
  const other = await createTenant(db, { name: 'other' });
  const agent = await createAgent(db, tenant.id, { name: 'echo', mode: 'echo' });
  const start = (tenantId = tenant.id) => startCall(db, tenantId, {
    agentId: tenantId === tenant.id ? agent.id : null, direction: 'inbound', fromUri: 'sip:+15550100@carrier', toUri: 'sip:2000@smartalex', sipCallId: randomUUID(),
  });

  test(`[${backend.name}] startCall writes a ringing row and a state event`, async () => {
    const call = await start();
    assert.is(call.state, 'ringing');
    assert.is(call.tenantId, tenant.id);
    assert.is(call.agentId, agent.id);
    assert.is(call.direction, 'inbound');
    assert.ok(call.startedAt instanceof Date);
    assert.is(call.answeredAt, null);
    assert.is(call.endedAt, null);
    const events = await listCallEvents(db, tenant.id, call.id);
    assert.equal(events.map((e) => [e.type, e.data]), [['state', { state: 'ringing' }]]);
  });

  test(`[${backend.name}] answered, then finished exactly once; events in order`, async () => {
    const call = await start();
    await markCallAnswered(db, tenant.id, call.id);
    await addCallEvent(db, tenant.id, call.id, 'dtmf', { digit: '5' });
    await finishCall(db, tenant.id, call.id, { reason: 'remote-bye' });
    await finishCall(db, tenant.id, call.id, { reason: 'rtp-timeout', failure: 'late' });
    const row = (await getCall(db, tenant.id, call.id))!;
    assert.is(row.state, 'ended');
    assert.ok(row.answeredAt instanceof Date);
    assert.ok(row.endedAt instanceof Date);
    assert.ok(row.endedAt!.getTime() >= row.answeredAt!.getTime());
    assert.is(row.endReason, 'remote-bye', 'the second finish is ignored');
    assert.is(row.failure, null);
    const events = await listCallEvents(db, tenant.id, call.id);
    assert.equal(events.map((e) => [e.type, e.data]), [
      ['state', { state: 'ringing' }], ['state', { state: 'answered' }], ['dtmf', { digit: '5' }], ['state', { state: 'ended', reason: 'remote-bye' }],
    ]);
  });

  test(`[${backend.name}] outcome: a failure recorded before the finish is kept; latency set any time`, async () => {
    const call = await start();
    await recordCallOutcome(db, tenant.id, call.id, { failure: 'llm:openai' });
    await finishCall(db, tenant.id, call.id, { reason: 'provider-failure' });
    await recordCallOutcome(db, tenant.id, call.id, { latency: { turns: 2, e2eMsP50: 640 } });
    await recordCallOutcome(db, tenant.id, call.id, {});
    const row = (await getCall(db, tenant.id, call.id))!;
    assert.is(row.failure, 'llm:openai');
    assert.equal(row.latency, { turns: 2, e2eMsP50: 640 });
    assert.is(row.endReason, 'provider-failure');
    const failed = await start();
    await finishCall(db, tenant.id, failed.id, { reason: 'setup-failed', failure: 'rtp:ports' });
    assert.is((await getCall(db, tenant.id, failed.id))!.failure, 'rtp:ports');
  });

  test(`[${backend.name}] listCalls is newest first and per tenant; another tenant can neither see nor change a call`, async () => {
    const mine = await listCalls(db, tenant.id);
    assert.ok(mine.length >= 4);
    for (let i = 1; i < mine.length; i++) assert.ok(mine[i - 1]!.startedAt.getTime() >= mine[i]!.startedAt.getTime());
    assert.is((await listCalls(db, tenant.id, 2)).length, 2);
    const call = await start();
    assert.is((await listCalls(db, other.id)).length, 0);
    assert.is(await getCall(db, other.id, call.id), undefined);
    assert.equal(await listCallEvents(db, other.id, call.id), []);
    await finishCall(db, other.id, call.id, { reason: 'hijack' });
    await markCallAnswered(db, other.id, call.id).catch(() => undefined);
    const row = (await getCall(db, tenant.id, call.id))!;
    assert.is(row.state, 'ringing');
    assert.is(row.endReason, null);
    const theirs = await start(other.id);
    assert.equal((await listCalls(db, other.id)).map((c) => c.id), [theirs.id]);
    assert.not.ok((await listCalls(db, tenant.id)).some((c) => c.id === theirs.id));
  });

  test.after(() => backend.cleanup());
}

test.run();
