/**
 * GDPR for one data subject: the export ZIP holds their contacts, calls,
 * redacted transcripts, consents, DNC entry and decrypted recordings (every
 * file's SHA-256 in the manifest), nothing about anyone else; the erasure
 * removes all of it, crypto-shreds their recordings (objects gone), keeps the
 * do-not-call entry, leaves another person's data alone; both are audited.
 * A subject named by a number without + is read in the tenant's default
 * country. Runs on PGlite and on a Postgres server.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  addTranscriptTurn, createAgent, createTenant, findDataSubject, finishCall, listAudit, listCalls, listDoNotCallEntries, startCall, updateTenant, withTenant, schema,
} from '../../../storage/index.ts';
import { addToDoNotCall, grantConsent } from '../../../src/compliance/index.ts';
import { eraseDataSubject, exportDataSubject, subjectCountry, subjectQuery } from '../../../src/gdpr/index.ts';
import { backends } from '../../support/databases.ts';
import { recordingFixture, syntheticFrame } from '../recordings/support.ts';
import { readZip } from './read-zip.ts';

const ACTOR = 'operator:test';

for (const backend of await backends()) {
  const db = await backend.open();
  const fx = await recordingFixture(db);

  async function world() {
    const tenant = await createTenant(db, { name: `g-${crypto.randomUUID()}` });
    const agent = await createAgent(db, tenant.id, { name: 'a', mode: 'echo' });
    const [alice, bob] = await withTenant(db, tenant.id, (tx) => tx.insert(schema.contacts).values([
      { tenantId: tenant.id, name: 'Alice, "A"', phone: '+14153230001', email: 'alice@example.com', attributes: { plan: 'gold', visits: 3, vip: true } },
      { tenantId: tenant.id, name: 'Bob', phone: '+14153230002' },
    ]).returning());
    const calls: Record<string, string> = {};
    for (const [who, from] of [['alice', 'sip:4153230001@carrier'], ['bob', 'sip:+14153230002@carrier']] as const) {
      const call = await startCall(db, tenant.id, { agentId: agent.id, direction: 'inbound', fromUri: from, toUri: 'sip:2000@us', sipCallId: crypto.randomUUID() });
      await addTranscriptTurn(db, tenant.id, { callId: call.id, seq: 1, speaker: 'caller', redacted: { text: 'my card is [CARD]', entities: [{ type: 'CARD', start: 11, end: 17 }] } });
      const recorder = fx.service.startCallRecording({ tenantId: tenant.id, callId: call.id, agent });
      for (let f = 0; f < 10; f++) { recorder.caller(syntheticFrame('caller', f)); recorder.agent(syntheticFrame('agent', f)); }
      await recorder.finish();
      await finishCall(db, tenant.id, call.id, { reason: 'bye' });
      calls[who] = call.id;
    }
    await grantConsent(db, tenant.id, '(415) 323-0001', { source: 'web form', contactId: alice!.id, actor: ACTOR });
    await grantConsent(db, tenant.id, '4153230002', { source: 'web form', actor: ACTOR });
    await addToDoNotCall(db, tenant.id, '415-323-0001', { reason: 'asked', actor: ACTOR });
    return { tenantId: tenant.id, alice: alice!, bob: bob!, calls };
  }

  test(`[${backend.name}] export: a ZIP with the subject's records in JSON and CSV, redacted transcripts, WAV audio, a SHA-256 manifest`, async () => {
    const w = await world();
    const out = join(fx.dataDir, `export-${w.tenantId}.zip`);
    const manifest = await exportDataSubject(db, fx.vault, w.tenantId, { phone: '415 323 0001' }, out, { actor: ACTOR });
    const files = readZip(await readFile(out));
    const parsed = JSON.parse(files.get('manifest.json')!.toString()) as typeof manifest;
    assert.is(parsed.format, 'smartalex-data-subject-export');
    assert.equal(parsed.files.map((f) => f.path).sort(), [...files.keys()].filter((n) => n !== 'manifest.json').sort());
    for (const f of parsed.files) assert.is(createHash('sha256').update(files.get(f.path)!).digest('hex'), f.sha256, f.path);
    assert.equal(parsed.counts, { contacts: 1, calls: 1, transcriptTurns: 1, recordings: 1, consents: 1, doNotCall: 1, campaignDials: 0 });
    const contactsCsv = files.get('contacts.csv')!.toString();
    assert.match(contactsCsv, /^id,name,phone,email,timeZone,createdAt,attributes\r\n/);
    const aliceLine = contactsCsv.split('\r\n')[1]!;
    const attributeColumn = aliceLine.slice(aliceLine.lastIndexOf(',"{') + 2, -1).replace(/""/g, '"');
    assert.equal(JSON.parse(attributeColumn), { plan: 'gold', visits: 3, vip: true }, 'the attributes as one JSON column');
    assert.equal(JSON.parse(files.get('contacts.json')!.toString())[0].attributes, { plan: 'gold', visits: 3, vip: true }, 'the attributes in the JSON');
    assert.match(contactsCsv, /"Alice, ""A"""/);
    assert.not.match(contactsCsv, /Bob/);
    const calls = JSON.parse(files.get('calls.json')!.toString()) as { id: string }[];
    assert.equal(calls.map((c) => c.id), [w.calls.alice]);
    assert.match(files.get('calls.csv')!.toString(), new RegExp(w.calls.alice!));
    const transcripts = JSON.parse(files.get('transcripts.json')!.toString()) as { turns: { text: string }[] }[];
    assert.is(transcripts[0]!.turns[0]!.text, 'my card is [CARD]');
    const wavs = [...files.keys()].filter((n) => n.endsWith('.wav'));
    assert.is(wavs.length, 1);
    assert.is(files.get(wavs[0]!)!.subarray(0, 4).toString(), 'RIFF');
    assert.ok(files.get(wavs[0]!)!.length > 44 + 10 * 160 * 4 - 1, 'the decrypted audio is all there');
    assert.is(JSON.parse(files.get('do_not_call.json')!.toString()).length, 1);
    const logged = (await listAudit(db, w.tenantId)).find((a) => a.action === 'gdpr.exported');
    assert.is(logged?.target, '+*******0001', 'audited with the masked number');
  });

  test(`[${backend.name}] erasure: calls, transcripts, recordings (objects too), contact and consents gone; DNC kept; others untouched`, async () => {
    const w = await world();
    const aliceRecording = (await findDataSubject(db, w.tenantId, { phones: ['4153230001'], contactIds: [] })).recordings[0]!;
    const result = await eraseDataSubject(db, fx.store, w.tenantId, { contactId: w.alice.id }, { actor: ACTOR });
    assert.equal(result, { contacts: 1, calls: 1, recordings: 1, consents: 1, webhookEvents: 0, doNotCallKept: 1 });
    const left = await findDataSubject(db, w.tenantId, { phones: ['+14153230001', '4153230001', '14153230001'], contactIds: [w.alice.id] });
    assert.equal([left.contacts.length, left.calls.length, left.transcriptTurns.length, left.recordings.length, left.consents.length], [0, 0, 0, 0, 0]);
    assert.is((await listDoNotCallEntries(db, w.tenantId)).length, 1, 'the do-not-call entry survives the erasure');
    let missing = false;
    await fx.vault.read({ tenantId: w.tenantId, recordingId: aliceRecording.id }).catch(() => { missing = true; });
    assert.ok(missing, 'the recording object is gone');
    const bob = await findDataSubject(db, w.tenantId, { phones: ['+14153230002'], contactIds: [] });
    assert.equal([bob.contacts.length, bob.calls.length, bob.recordings.length, bob.consents.length], [1, 1, 1, 1]);
    assert.equal((await listCalls(db, w.tenantId)).map((c) => c.id), [w.calls.bob]);
    const logged = (await listAudit(db, w.tenantId)).find((a) => a.action === 'gdpr.erased');
    assert.is(logged?.target, `contact:${w.alice.id}`);
  });

  test(`[${backend.name}] a GB tenant's subject named by a number without + is read in GB: their consent erased, their DNC entry kept`, async () => {
    const tenant = await createTenant(db, { name: `gb-${crypto.randomUUID()}` });
    await updateTenant(db, tenant.id, { defaultCountry: 'GB' });
    await withTenant(db, tenant.id, (tx) => tx.insert(schema.contacts).values({ tenantId: tenant.id, name: 'Ann', phone: '+442079460000' }));
    await grantConsent(db, tenant.id, '020 7946 0000', { source: 'web form', actor: ACTOR });
    await grantConsent(db, tenant.id, '+12079460000', { source: 'web form', actor: ACTOR }); // the US reading of the same digits: someone else
    await addToDoNotCall(db, tenant.id, '020 7946 0000', { actor: ACTOR });
    assert.equal(subjectQuery({ phone: '020 7946 0000' }, await subjectCountry(db, tenant.id, { phone: '020 7946 0000' })).phones, ['+442079460000']);
    assert.throws(() => subjectQuery({ phone: '020 7946 0000' }, 'US'), /not a phone number \(a number without \+ is read as a number of US/);
    const result = await eraseDataSubject(db, fx.store, tenant.id, { phone: '020 7946 0000' }, { actor: ACTOR });
    assert.equal(result, { contacts: 1, calls: 0, recordings: 0, consents: 1, webhookEvents: 0, doNotCallKept: 1 });
    assert.equal((await findDataSubject(db, tenant.id, { phones: ['+12079460000'], contactIds: [] })).consents.length, 1, 'the US number\'s consent is not theirs');
    assert.equal((await listDoNotCallEntries(db, tenant.id)).map((e) => e.phone), ['+442079460000']);
  });

  test.after(async () => {
    await fx.service.close();
    await fx.cleanup();
    await backend.cleanup();
  });
}

test.run();
