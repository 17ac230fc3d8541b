/**
 * Do-not-call and consent entries typed without + are read in the tenant's
 * default country, as contacts are, and the dial-time check matches what was
 * stored: a GB tenant's "020 7946 0000" blocks +442079460000 and not the US
 * number with the same digits (+12079460000); consent likewise; a US tenant
 * reads them as before; an older row's bare US digits still block their
 * number in any tenant; and changing the tenant's country later changes how
 * new entries are read, never what stored ones mean. A number that cannot be
 * read in the country is refused with a message that names the country and
 * does not repeat the number.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { addNumber, createAgent, createTenant, listAudit, schema, updateTenant, withTenant, type Database } from '../../../storage/index.ts';
import {
  addToDoNotCall, checkOutboundCall, grantConsent, listDoNotCall, removeDoNotCallById, removeFromDoNotCall, revokeConsent, tenantPhoneCountry,
} from '../../../src/compliance/index.ts';
import { backends } from '../../support/databases.ts';
import { rejection } from '../../storage/vault/support/helpers.ts';

const NOON = new Date('2026-06-10T16:00:00Z'); // Wednesday 12:00 in New York (the default calling-hours zone)
const LONDON = '+442079460000';
const MAINE = '+12079460000'; // the same ten digits read in the US

async function tenantIn(db: Database, name: string, country: string | undefined, callerId: string): Promise<string> {
  const tenant = await createTenant(db, { name });
  if (country) await updateTenant(db, tenant.id, { defaultCountry: country });
  const agent = await createAgent(db, tenant.id, { name: `${name}-agent`, mode: 'echo' });
  await addNumber(db, tenant.id, { number: callerId, agentId: agent.id, allowedCidrs: ['127.0.0.1/32'] });
  return tenant.id;
}

const reasonOf = async (db: Database, tenantId: string, number: string): Promise<string> => {
  const d = await checkOutboundCall(db, tenantId, { number, now: NOON });
  return d.allowed ? 'allowed' : d.reason;
};

for (const backend of await backends()) {
  const db = await backend.open();

  test(`[${backend.name}] a GB tenant's do-not-call entry without + blocks the GB number, not the US reading of its digits`, async () => {
    const gb = await tenantIn(db, 'gb-dnc', 'GB', '+442079460100');
    assert.is(await tenantPhoneCountry(db, gb), 'GB');
    assert.is((await addToDoNotCall(db, gb, '020 7946 0000', { reason: 'asked on call' })).phone, LONDON);
    assert.is((await addToDoNotCall(db, gb, '207 946 0000')).added, false, 'the national number without its trunk 0 is the same GB number');
    assert.equal((await listDoNotCall(db, gb)).map((e) => e.phone), [LONDON]);
    await grantConsent(db, gb, MAINE, { source: 'web form' });
    assert.is(await reasonOf(db, gb, LONDON), 'do-not-call');
    assert.is(await reasonOf(db, gb, '020 7946 0000'), 'do-not-call', 'dialled without +: read in GB too');
    assert.is(await reasonOf(db, gb, MAINE), 'allowed', 'the US number with the same digits is not on the list');
    // Refused dials are audited with the callee masked.
    const refused = (await listAudit(db, gb, 20)).filter((e) => e.action === 'call.refused');
    assert.equal(refused.map((e) => e.target), ['+********0000', '+********0000']);
    // Taken off the list by its national spelling.
    assert.is((await removeFromDoNotCall(db, gb, '020 7946 0000')).removed, true);
    assert.is(await reasonOf(db, gb, LONDON), 'no-consent');
  });

  test(`[${backend.name}] a GB tenant's consent without + permits the GB number, not the US reading of its digits`, async () => {
    const gb = await tenantIn(db, 'gb-consent', 'GB', '+442079460101');
    assert.is((await grantConsent(db, gb, '020 7946 0001', { source: 'signed paper' })).phone, '+442079460001');
    assert.is(await reasonOf(db, gb, '+442079460001'), 'allowed');
    assert.is(await reasonOf(db, gb, '02079460001'), 'allowed', 'dialled without +');
    assert.is(await reasonOf(db, gb, '+12079460001'), 'no-consent', 'the US reading of the digits has no consent');
    assert.equal(await revokeConsent(db, gb, '(020) 7946-0001'), { phone: '+442079460001', revoked: 1 });
    assert.is(await reasonOf(db, gb, '+442079460001'), 'no-consent');
  });

  test(`[${backend.name}] a US tenant reads numbers without + as US numbers, as before`, async () => {
    const us = await tenantIn(db, 'us', undefined, '+12125550100');
    assert.is(await tenantPhoneCountry(db, us), 'US');
    assert.is((await addToDoNotCall(db, us, '(207) 946-0000')).phone, MAINE);
    assert.is((await grantConsent(db, us, '207.946.0002', { source: 'web form' })).phone, '+12079460002');
    await grantConsent(db, us, LONDON, { source: 'web form' });
    assert.is(await reasonOf(db, us, MAINE), 'do-not-call');
    assert.is(await reasonOf(db, us, '2079460000'), 'do-not-call');
    assert.is(await reasonOf(db, us, '+12079460002'), 'allowed');
    assert.is(await reasonOf(db, us, LONDON), 'allowed', 'the GB number is not on a US tenant\'s list');
    const invalid = String(await rejection(addToDoNotCall(db, us, '020 7946 0000')));
    assert.match(invalid, /^InvalidPhoneError: not a phone number: .*read as a number of US \(the tenant's default country\)/);
    assert.not.ok(invalid.replace(/\D/g, '').includes('79460000'), 'the refusal repeats the number');
    const dial = await checkOutboundCall(db, us, { number: '020 7946 0000', now: NOON });
    assert.equal(dial.allowed ? '' : [dial.reason, /read as a number of US/.test(dial.message), dial.message.includes('7946')], ['invalid-number', true, false]);
  });

  test(`[${backend.name}] an older row's bare US digits still block their number, whatever the tenant's country`, async () => {
    const gb = await tenantIn(db, 'gb-legacy', 'GB', '+442079460102');
    await withTenant(db, gb, (tx) => tx.insert(schema.doNotCall).values({ tenantId: gb, phone: '2125550123' }));
    await withTenant(db, gb, (tx) => tx.insert(schema.consents).values({ tenantId: gb, phone: '12125550177', kind: 'outbound-call' }));
    assert.is(await reasonOf(db, gb, '+12125550123'), 'do-not-call');
    assert.is(await reasonOf(db, gb, '+12125550177'), 'allowed');
    // Removed by id: the row's own spelling and every spelling of the US number it means.
    const [entry] = await listDoNotCall(db, gb);
    assert.equal(await removeDoNotCallById(db, gb, entry!.id), { phone: '+12125550123' });
    assert.equal(await listDoNotCall(db, gb), []);
    assert.equal(await revokeConsent(db, gb, '+1 212 555 0177'), { phone: '+12125550177', revoked: 1 });
  });

  test(`[${backend.name}] changing the tenant's country later does not change what stored entries mean`, async () => {
    const t = await tenantIn(db, 'moves', 'GB', '+442079460103');
    await addToDoNotCall(db, t, '020 7946 0000');
    await grantConsent(db, t, '020 7946 0003', { source: 'web form' });
    await grantConsent(db, t, MAINE, { source: 'web form' });
    await updateTenant(db, t, { defaultCountry: 'US' });
    assert.is(await tenantPhoneCountry(db, t), 'US');
    assert.is(await reasonOf(db, t, LONDON), 'do-not-call', 'the GB entry still blocks the GB number');
    assert.is(await reasonOf(db, t, MAINE), 'allowed', 'and still not the US one');
    assert.is(await reasonOf(db, t, '+442079460003'), 'allowed', 'the GB consent still permits the GB number');
    assert.is(await reasonOf(db, t, '2079460000'), 'allowed', 'a dial without + is now read in the US');
    // New entries are read in the new country.
    assert.is((await addToDoNotCall(db, t, '207 946 0000')).phone, MAINE);
    assert.is(await reasonOf(db, t, MAINE), 'do-not-call');
    assert.equal((await listDoNotCall(db, t)).map((e) => e.phone), [LONDON, MAINE]);
  });

  test.after(async () => {
    await db.close();
    await backend.cleanup();
  });
}

test.run();
