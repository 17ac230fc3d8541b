/** One row in every tenant table for a new tenant, inserted through the tenant scope. */
import { randomUUID } from 'node:crypto';
import {
  addNumber, audit, createAgent, createTenant, issueApiKey, withTenant, type Database, schema,
} from '../../storage/index.ts';

export async function seedTenant(db: Database, name: string, number: string): Promise<{ tenantId: string; agentId: string; callId: string }> {
  const tenant = await createTenant(db, { name });
  const agent = await createAgent(db, tenant.id, { name: `${name}-agent`, mode: 'echo' });
  const numberRow = await addNumber(db, tenant.id, { number, agentId: agent.id, allowedCidrs: ['127.0.0.1/32'] });
  await issueApiKey(db, tenant.id, { name: 'k', role: 'owner' });
  await audit(db, tenant.id, { actor: 'test', action: 'seeded' });
  const callId = await withTenant(db, tenant.id, async (tx) => {
    const tenantId = tenant.id;
    const [user] = await tx.insert(schema.users).values({ tenantId, email: `${name}@example.com`, role: 'owner' }).returning();
    await tx.insert(schema.userRecoveryCodes).values({ tenantId, userId: user!.id, codeHash: 'h' });
    await tx.insert(schema.sessions).values({ tenantId, userId: user!.id, expiresAt: new Date(Date.now() + 3600e3) });
    await tx.insert(schema.invitations).values({ tenantId, email: `${name}-invited@example.com`, role: 'viewer', tokenHash: randomUUID(), createdBy: 'test', expiresAt: new Date(Date.now() + 3600e3) });
    await tx.insert(schema.carrierTrunks).values({ tenantId, name: 'trunk', allowedCidrs: ['10.0.0.0/8'] });
    const [call] = await tx.insert(schema.calls).values({ tenantId, agentId: agent.id, direction: 'inbound', fromUri: 'sip:a@x', toUri: `sip:${number}@y`, sipCallId: randomUUID(), state: 'ended' }).returning();
    await tx.insert(schema.callEvents).values({ tenantId, callId: call!.id, type: 'answered' });
    await tx.insert(schema.transcriptTurns).values({ tenantId, callId: call!.id, seq: 1, speaker: 'caller', redactedText: 'my card is [CARD]' });
    await tx.insert(schema.recordings).values({ id: randomUUID(), tenantId, callId: call!.id, objectKey: 'k', keyId: 'kid', retainUntil: new Date(Date.now() + 86400e3) });
    const [contact] = await tx.insert(schema.contacts).values({ tenantId, phone: '+14152100' }).returning();
    await tx.insert(schema.doNotCall).values({ tenantId, phone: '+14152101' });
    await tx.insert(schema.consents).values({ tenantId, contactId: contact!.id, phone: '+14152100', kind: 'outbound-calls' });
    await tx.insert(schema.tenantKeys).values({ tenantId, keyId: 'tk1', wrappedKey: Buffer.from('wrapped'), masterKeyId: 'm1' });
    await tx.insert(schema.tenantProviderKeys).values({ tenantId, provider: 'deepgram', sealed: Buffer.from('sealed'), keyId: 'tk1' });
    await tx.insert(schema.numberCarriers).values({ numberId: numberRow.id, tenantId, carrier: 'twilio', credentialSealed: Buffer.from('sealed'), credentialKeyId: 'tk1' });
    const [endpoint] = await tx.insert(schema.webhookEndpoints).values({ tenantId, url: 'https://hooks.example/x', eventTypes: ['call.ended'], secretSealed: Buffer.from('sealed'), secretKeyId: 'tk1' }).returning();
    const eventId = `msg_${randomUUID().replace(/-/g, '').slice(0, 26)}`;
    const [event] = await tx.insert(schema.webhookEvents).values({ id: eventId, tenantId, type: 'call.ended', subject: call!.id, payload: {} }).returning();
    const [delivery] = await tx.insert(schema.webhookDeliveries).values({ tenantId, eventId, endpointId: endpoint!.id, subject: call!.id, seq: event!.seq, nextAttemptAt: new Date() }).returning();
    await tx.insert(schema.webhookAttempts).values({ tenantId, deliveryId: delivery!.id, attempt: 1, at: new Date(), durationMs: 5 });
    const [campaign] = await tx.insert(schema.campaigns).values({ tenantId, name: 'c', agentId: agent.id }).returning();
    await tx.insert(schema.campaignContacts).values({ tenantId, campaignId: campaign!.id, contactId: contact!.id });
    await tx.insert(schema.apiJobs).values({ tenantId, kind: 'gdpr.export', request: { scope: 'tenant' }, requestedBy: 'test' });
    await tx.insert(schema.widgetKeys).values({ tenantId, agentId: agent.id, key: `saw_${randomUUID().replace(/-/g, '').slice(0, 24)}`, allowedOrigins: ['https://shop.example'], createdBy: 'test' });
    return call!.id;
  });
  return { tenantId: tenant.id, agentId: agent.id, callId };
}
