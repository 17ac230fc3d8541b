/**
 * PUT / DELETE /v1/numbers/:numberId/carrier: a number answered through a
 * carrier's media streams, set over the API. Roles per the matrix
 * (numbers:write: owner and admin), the CLI's validation (known carrier,
 * non-empty credential, a Telnyx key that is an Ed25519 key), the credential
 * sealed (it unseals to what was sent, no table holds it in plain text, no
 * response or audit entry carries it), audited, and another tenant's number
 * is a 404.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { generateKeyPairSync } from 'node:crypto';
import { addNumber, createAgent, getNumberCarrier, listAudit, withoutTenant } from '../../../storage/index.ts';
import { sql } from 'drizzle-orm';
import type { KeyRing } from '../../../storage/vault/index.ts';
import { apiHarness } from '../../support/api.ts';
import { backends } from '../../support/databases.ts';

const TOKEN = 'twilio-auth-token-api-0123456789abcdef';

function telnyxPublicKey(): string {
  const { publicKey } = generateKeyPairSync('ed25519');
  // Telnyx shows the raw 32-byte key in base64: the tail of the SPKI DER.
  return publicKey.export({ format: 'der', type: 'spki' }).subarray(-32).toString('base64');
}

for (const backend of await backends()) {
  test(`[${backend.name}] number carrier over the API: roles, validation, sealing, audit, tenants`, async () => {
    try {
      const h = await apiHarness(await backend.open());
      try {
        const tenantA = await h.tenant('A');
        const tenantB = await h.tenant('B');
        const agentA = await createAgent(h.db, tenantA, { name: 'support' });
        const numberA = await addNumber(h.db, tenantA, { number: '+14152001234', agentId: agentA.id, allowedCidrs: ['192.0.2.1'] });
        const agentB = await createAgent(h.db, tenantB, { name: 'support' });
        const numberB = await addNumber(h.db, tenantB, { number: '+14152005678', agentId: agentB.id, allowedCidrs: ['192.0.2.1'] });
        const admin = await h.bearer(tenantA, 'admin');
        const url = (id: string) => `/v1/numbers/${id}/carrier`;
        const put = (auth: string, id: string, payload: unknown) => h.app.inject({ method: 'PUT', url: url(id), headers: { authorization: auth }, payload: payload as object });

        for (const role of ['manager', 'viewer'] as const) {
          const res = await put(await h.bearer(tenantA, role), numberA.id, { carrier: 'twilio', credential: TOKEN });
          assert.is(res.statusCode, 403, `${role} may not set a carrier`);
        }

        const set = await put(admin, numberA.id, { carrier: 'twilio', credential: `  ${TOKEN}\n` });
        assert.is(set.statusCode, 200, set.body);
        assert.equal(set.json(), { numberId: numberA.id, carrier: 'twilio', webhookPath: '/v1/carriers/twilio/voice' });
        assert.not.ok(set.body.includes(TOKEN));
        const keyRing = h.deps.services.keyRing as KeyRing;
        assert.equal(await getNumberCarrier(h.db, keyRing, tenantA, numberA.id), { carrier: 'twilio', credential: TOKEN }, 'stored trimmed, unseals to the token');
        const stored = await withoutTenant(h.db, (tx) => tx.execute(sql`select encode(credential_sealed, 'escape') as c from number_carriers`));
        assert.not.ok(JSON.stringify(stored).includes(TOKEN), 'sealed at rest');
        const entry = (await listAudit(h.db, tenantA, 1))[0]!;
        assert.is(entry.action, 'number.carrier.set');
        assert.is(entry.target, numberA.id);
        assert.equal(entry.detail, { carrier: 'twilio' });
        assert.match(entry.actor, /^apikey:sak_/);

        // The CLI's validation: unknown carrier, empty or blank credential, a Telnyx key that is not one, unknown fields.
        const refusals: [unknown, string][] = [
          [{ carrier: 'vonage', credential: 'x' }, 'body.carrier'],
          [{ carrier: 'twilio', credential: '' }, 'body.credential'],
          [{ carrier: 'twilio', credential: '   ' }, 'body.credential'],
          [{ carrier: 'telnyx', credential: 'not-a-key' }, 'body.credential'],
          [{ carrier: 'telnyx', credential: Buffer.alloc(31, 1).toString('base64') }, 'body.credential'],
          [{ carrier: 'twilio', credential: TOKEN, numberId: numberB.id }, 'body'],
        ];
        for (const [payload, path] of refusals) {
          const res = await put(admin, numberA.id, payload);
          assert.is(res.statusCode, 400, `${JSON.stringify(payload)}: ${res.body}`);
          const errors = (res.json() as { errors?: { path: string }[] }).errors ?? [];
          assert.ok(errors.some((e) => e.path.startsWith(path)), `${JSON.stringify(payload)} names ${path}: ${res.body}`);
        }
        assert.equal(await getNumberCarrier(h.db, keyRing, tenantA, numberA.id), { carrier: 'twilio', credential: TOKEN }, 'a refused change leaves the carrier as it was');

        // A Telnyx key (base64 as the portal shows it) replaces the Twilio token.
        const telnyxKey = telnyxPublicKey();
        const telnyx = await put(admin, numberA.id, { carrier: 'telnyx', credential: telnyxKey });
        assert.is(telnyx.statusCode, 200, telnyx.body);
        assert.equal(await getNumberCarrier(h.db, keyRing, tenantA, numberA.id), { carrier: 'telnyx', credential: telnyxKey });

        // Another tenant's number is not there, for setting and removing; nothing is written to it.
        assert.is((await put(admin, numberB.id, { carrier: 'twilio', credential: TOKEN })).statusCode, 404);
        assert.is((await h.app.inject({ method: 'DELETE', url: url(numberB.id), headers: { authorization: admin } })).statusCode, 404);
        assert.is(await getNumberCarrier(h.db, keyRing, tenantB, numberB.id), undefined);

        // Removal: audited; a second removal is a 404.
        const removed = await h.app.inject({ method: 'DELETE', url: url(numberA.id), headers: { authorization: admin } });
        assert.is(removed.statusCode, 204, removed.body);
        assert.is((await listAudit(h.db, tenantA, 1))[0]!.action, 'number.carrier.removed');
        assert.is(await getNumberCarrier(h.db, keyRing, tenantA, numberA.id), undefined);
        assert.is((await h.app.inject({ method: 'DELETE', url: url(numberA.id), headers: { authorization: admin } })).statusCode, 404);
        for (const e of await listAudit(h.db, tenantA, 50)) assert.not.ok(JSON.stringify(e).includes(TOKEN) || JSON.stringify(e).includes(telnyxKey), 'no audit entry carries a credential');
      } finally {
        await h.close();
      }
    } finally {
      await backend.cleanup();
    }
  });
}

test.run();
