/**
 * Webhook delivery end to end against a local receiver that verifies every
 * request with the `standardwebhooks` library: events written in the
 * transaction of the change they report (and not at all when it rolls back),
 * payloads valid against the published schemas, a receiver down then up
 * (each event delivered once, in order per call), an always-failing receiver
 * disabled after the limit (audited, announced by an event), private and
 * metadata addresses refused at send time, secret rotation with an overlap,
 * replay with the same webhook-id. Time moves by an injected clock: nothing
 * sleeps through the back-off. Runs on PGlite and on a Postgres server.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  addTranscriptTurn, createAgent, createTenant, emitEvent, finishCall, getWebhookEndpoint, listAudit, listWebhookAttempts, listWebhookDeliveries, listWebhookEvents,
  markCallAnswered, PostgresTenantKeyStore, startCall, withTenant, type Database,
} from '../../../storage/index.ts';
import { KeyRing, LocalMasterKey } from '../../../storage/vault/index.ts';
import {
  changeWebhookEndpoint, createWebhookEndpoint, replayWebhookDelivery, rotateWebhookSecret, WebhookDeliveryWorker, webhookPayloadSchema,
  type DeliveryWorkerOptions,
} from '../../../src/webhooks/index.ts';
import { backends } from '../../support/databases.ts';
import { ManualClock, Receiver } from './support/receiver.ts';

const ACTOR = 'operator:test';

for (const backend of await backends()) {
  const db: Database = await backend.open();
  const keys = new KeyRing({ master: LocalMasterKey.generate(), store: new PostgresTenantKeyStore(db) });

  async function setup(eventTypes = ['call.started', 'call.answered', 'call.ended']) {
    const tenant = await createTenant(db, { name: `t-${crypto.randomUUID()}` });
    const agent = await createAgent(db, tenant.id, { name: 'echo', mode: 'echo' });
    const receiver = await Receiver.start();
    const { endpoint, secret } = await createWebhookEndpoint(db, keys, tenant.id, { url: receiver.url, eventTypes, actor: ACTOR });
    receiver.secrets = [secret];
    const clock = new ManualClock(Date.now() + 3600_000); // ahead of the rows' own timestamps: everything written is due
    const worker = (options: Partial<DeliveryWorkerOptions> = {}) => new WebhookDeliveryWorker({
      db, keys, allowLoopback: true, timeoutMs: 5_000, clock: clock.now, random: () => 0.5, ...options,
    });
    const call = async () => {
      const row = await startCall(db, tenant.id, { agentId: agent.id, direction: 'inbound', fromUri: 'sip:caller@x', toUri: 'sip:2000@y', sipCallId: crypto.randomUUID() });
      await markCallAnswered(db, tenant.id, row.id);
      await finishCall(db, tenant.id, row.id, { reason: 'bye' });
      return row.id;
    };
    return { tenantId: tenant.id, agentId: agent.id, receiver, endpoint, secret, clock, worker, call };
  }

  test(`[${backend.name}] a call's events are written with its changes, signed, and valid against the published schemas`, async () => {
    const s = await setup();
    try {
      const callId = await s.call();
      const events = await listWebhookEvents(db, s.tenantId);
      assert.equal(events.map((e) => e.type).reverse(), ['call.started', 'call.answered', 'call.ended']);
      assert.ok(events.every((e) => e.subject === callId));
      const attempts = await s.worker().runOnce();
      assert.is(attempts, 3);
      assert.is(s.receiver.unverified, 0);
      assert.equal(s.receiver.accepted.map((r) => r.type), ['call.started', 'call.answered', 'call.ended']);
      for (const r of s.receiver.accepted) {
        const parsed = webhookPayloadSchema(r.type as 'call.ended').safeParse(r.payload);
        assert.ok(parsed.success, `${r.type} matches its schema: ${parsed.success ? '' : parsed.error.message}`);
      }
      const ended = s.receiver.accepted[2]!.payload.data;
      assert.is(ended.outcome, 'answered');
      assert.is(ended.endReason, 'bye');
      assert.type(ended.durationMs, 'number');
      const deliveries = await listWebhookDeliveries(db, s.tenantId);
      assert.ok(deliveries.every((d) => d.status === 'delivered' && d.attempts === 1));
      const log = await listWebhookAttempts(db, s.tenantId, deliveries[0]!.id);
      assert.equal(log.map((a) => a.statusCode), [200]);
    } finally {
      await s.receiver.close();
    }
  });

  test(`[${backend.name}] transcript.completed carries the redacted turns when the call ends; payload valid`, async () => {
    const s = await setup(['transcript.completed']);
    try {
      const row = await startCall(db, s.tenantId, { agentId: s.agentId, direction: 'inbound', fromUri: 'sip:c@x', toUri: 'sip:2000@y', sipCallId: crypto.randomUUID() });
      await markCallAnswered(db, s.tenantId, row.id);
      await addTranscriptTurn(db, s.tenantId, { callId: row.id, seq: 1, speaker: 'caller', redacted: { text: 'card [CARD]', entities: [{ type: 'CARD', start: 5, end: 11 }] } });
      await addTranscriptTurn(db, s.tenantId, { callId: row.id, seq: 2, speaker: 'agent', redacted: { text: 'thanks', entities: [] } });
      await finishCall(db, s.tenantId, row.id, { reason: 'remote-bye' });
      await s.worker().runOnce();
      assert.equal(s.receiver.accepted.map((r) => r.type), ['transcript.completed']);
      const payload = s.receiver.accepted[0]!.payload;
      const parsed = webhookPayloadSchema('transcript.completed').safeParse(payload);
      assert.ok(parsed.success, parsed.success ? '' : parsed.error.message);
      assert.equal((payload.data.turns as { text: string }[]).map((t) => t.text), ['card [CARD]', 'thanks']);
    } finally {
      await s.receiver.close();
    }
  });

  test(`[${backend.name}] an event is written only if its change commits; no endpoint, no event`, async () => {
    const s = await setup(['call.ended']);
    try {
      let failed = false;
      await withTenant(db, s.tenantId, async (tx) => {
        await emitEvent(tx, s.tenantId, { type: 'call.ended', subject: 'x', data: {} });
        throw new Error('rolled back');
      }).catch(() => { failed = true; });
      assert.ok(failed);
      assert.is((await listWebhookEvents(db, s.tenantId)).length, 0, 'the rolled-back event is gone');
      await withTenant(db, s.tenantId, (tx) => emitEvent(tx, s.tenantId, { type: 'call.started', subject: 'y', data: {} }));
      assert.is((await listWebhookEvents(db, s.tenantId)).length, 0, 'no endpoint wants call.started: nothing written');
    } finally {
      await s.receiver.close();
    }
  });

  test(`[${backend.name}] receiver down then up: each event delivered once, in order per call, after back-off`, async () => {
    const s = await setup();
    try {
      let up = false;
      s.receiver.answer = () => (up ? 200 : 503);
      const first = await s.call();
      const second = await s.call();
      const worker = s.worker();
      // Down: only the first event of each call is tried (the later ones wait behind it).
      assert.is(await worker.runOnce(), 2);
      assert.is(await worker.runOnce(), 0, 'nothing is due before the back-off has passed');
      s.clock.advance(5_000 * 1.2 + 1);
      assert.is(await worker.runOnce(), 2, 'second attempt after ~5 s');
      s.clock.advance(300_000 * 1.2 + 1);
      up = true;
      assert.is(await worker.runOnce(), 6, 'once up, everything goes');
      const accepted = s.receiver.accepted;
      assert.is(new Set(accepted.map((r) => r.id)).size, 6, 'each event delivered once');
      for (const callId of [first, second]) {
        assert.equal(accepted.filter((r) => r.payload.data.callId === callId).map((r) => r.type), ['call.started', 'call.answered', 'call.ended']);
      }
      const failedTries = s.receiver.received.filter((r) => r.status === 503);
      assert.is(failedTries.length, 4);
      assert.ok(failedTries.every((r) => r.type === 'call.started'));
      assert.ok(failedTries.every((r) => accepted.some((a) => a.id === r.id)), 'a retry carries the same webhook-id');
      const d = (await listWebhookDeliveries(db, s.tenantId)).find((x) => x.eventId === failedTries[0]!.id)!;
      assert.equal((await listWebhookAttempts(db, s.tenantId, d.id)).map((a) => a.statusCode), [503, 503, 200]);
    } finally {
      await s.receiver.close();
    }
  });

  test(`[${backend.name}] a receiver that always fails is disabled after the limit, audited and announced`, async () => {
    const s = await setup(['call.ended']);
    const watcher = await Receiver.start();
    try {
      const { secret } = await createWebhookEndpoint(db, keys, s.tenantId, { url: watcher.url, eventTypes: ['webhook.endpoint.disabled'], actor: ACTOR });
      watcher.secrets = [secret];
      s.receiver.answer = () => 500;
      const worker = s.worker({ failureLimit: 5, failureWindowMs: 3600_000 });
      for (let i = 0; i < 3; i++) await s.call();
      for (let round = 0; round < 20 && (await getWebhookEndpoint(db, s.tenantId, s.endpoint.id))!.enabled; round++) {
        await worker.runOnce();
        s.clock.advance(40 * 60_000);
      }
      const endpoint = (await getWebhookEndpoint(db, s.tenantId, s.endpoint.id))!;
      assert.is(endpoint.enabled, false, 'disabled');
      assert.ok(endpoint.consecutiveFailures >= 5);
      assert.match(endpoint.disabledReason ?? '', /failed attempts in a row/);
      const tries = s.receiver.received.length;
      await worker.runOnce();
      s.clock.advance(24 * 3600_000);
      await worker.runOnce();
      assert.is(s.receiver.received.length, tries, 'a disabled endpoint gets nothing');
      const audited = (await listAudit(db, s.tenantId)).find((a) => a.action === 'webhook.endpoint.disabled');
      assert.is(audited?.target, s.endpoint.id);
      assert.equal(watcher.accepted.map((r) => [r.type, r.payload.data.endpointId]), [['webhook.endpoint.disabled', s.endpoint.id]]);
      // Re-enabled: the queued deliveries go out.
      s.receiver.answer = () => 200;
      await changeWebhookEndpoint(db, s.tenantId, s.endpoint.id, { enabled: true }, ACTOR);
      s.clock.advance(48 * 3600_000);
      await worker.runOnce();
      assert.ok(s.receiver.accepted.length >= 1, 'deliveries still in their schedule go out once re-enabled');
    } finally {
      await s.receiver.close();
      await watcher.close();
    }
  });

  test(`[${backend.name}] private, link-local and metadata addresses are refused at send time (after DNS); loopback only when allowed`, async () => {
    const s = await setup(['call.ended']);
    try {
      const targets: [string, string][] = [
        ['http://10.1.2.3/hook', '10.1.2.3'], ['http://metadata.example/hook', '169.254.169.254'], ['http://v6.example/hook', 'fd00:ec2::254'],
        ['http://mapped.example/hook', '::ffff:127.0.0.1'], ['http://[::1]:1/hook', '::1'], ['http://link.example/hook', 'fe80::1'],
      ];
      for (const [url] of targets) await createWebhookEndpoint(db, keys, s.tenantId, { url, eventTypes: ['call.ended'], actor: ACTOR });
      await s.call();
      const resolve = async (host: string) => {
        const hit = targets.find(([u]) => new URL(u).hostname === host);
        return hit ? [{ address: hit[1], family: hit[1].includes(':') ? 6 : 4 }] : [{ address: '127.0.0.1', family: 4 }];
      };
      await s.worker({ allowLoopback: false, resolve }).runOnce();
      const deliveries = await listWebhookDeliveries(db, s.tenantId);
      assert.is(deliveries.length, 7);
      for (const d of deliveries) {
        assert.is(d.status, 'pending');
        assert.match(d.lastError ?? '', /^refused: /, `${d.endpointId} refused`);
      }
      assert.is(s.receiver.received.length, 0, 'the loopback receiver was not contacted without the setting');
    } finally {
      await s.receiver.close();
    }
  });

  test(`[${backend.name}] secret rotation: both secrets sign during the overlap, only the new one after`, async () => {
    const s = await setup(['call.ended']);
    try {
      const rotated = await rotateWebhookSecret(db, keys, s.tenantId, s.endpoint.id, { actor: ACTOR, overlapMs: 3600_000, now: s.clock.now() });
      assert.ok(rotated);
      assert.is.not(rotated.secret, s.secret);
      s.receiver.secrets = [s.secret]; // a receiver not yet updated
      await s.call();
      await s.worker().runOnce();
      assert.is(s.receiver.accepted.length, 1, 'the old secret still verifies during the overlap');
      s.receiver.secrets = [rotated.secret];
      await s.call();
      await s.worker().runOnce();
      assert.is(s.receiver.accepted.length, 2, 'the new one verifies too');
      s.clock.advance(3600_000 + 1);
      s.receiver.secrets = [s.secret];
      await s.call();
      await s.worker().runOnce();
      assert.is(s.receiver.accepted.length, 2, 'after the overlap the old secret no longer verifies');
      assert.is(s.receiver.unverified, 1);
    } finally {
      await s.receiver.close();
    }
  });

  test(`[${backend.name}] replay re-sends one delivery with the same webhook-id`, async () => {
    const s = await setup(['call.ended']);
    try {
      await s.call();
      await s.worker().runOnce();
      const [delivery] = await listWebhookDeliveries(db, s.tenantId);
      assert.ok(await replayWebhookDelivery(db, s.tenantId, delivery!.id, ACTOR, s.clock.now()));
      await s.worker().runOnce();
      assert.equal(s.receiver.accepted.map((r) => r.id), [delivery!.eventId, delivery!.eventId]);
      assert.ok((await listAudit(db, s.tenantId)).some((a) => a.action === 'webhook.delivery.replayed'));
    } finally {
      await s.receiver.close();
    }
  });

  test.after(async () => {
    await backend.cleanup();
  });
}

test.run();
