/**
 * `smartalex call` to a number on the tenant's do-not-call list (typed with
 * other punctuation than it was listed with, and with consent on record, which
 * the list overrides): one line naming the reason, exit 1, nothing sent to the
 * carrier address (a UDP socket and a TCP listener there hear nothing), no call
 * row, and the refusal audited with the number masked. On an embedded data
 * directory and on a Postgres server database.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';
import { sql } from 'drizzle-orm';
import { addNumber, createAgent, createTenant, migrate, rows } from '../../../storage/index.ts';
import { addToDoNotCall, grantConsent } from '../../../src/compliance/index.ts';
import { refusedWith, runCli, targetKinds, withOpen } from './targets.ts';

/** A fake carrier on one port (UDP and TCP) that only counts what reaches it. */
async function listeningCarrier(): Promise<{ port: number; heard: () => number; close: () => Promise<void> }> {
  let heard = 0;
  const udp = createSocket('udp4');
  udp.on('message', () => heard++);
  await new Promise<void>((resolve) => udp.bind(0, '127.0.0.1', resolve));
  const port = udp.address().port;
  const tcp = createServer((socket) => { heard++; socket.destroy(); });
  await new Promise<void>((resolve, reject) => { tcp.once('error', reject); tcp.listen(port, '127.0.0.1', resolve); }).catch(() => undefined);
  return {
    port,
    heard: () => heard,
    close: async () => {
      udp.close();
      await new Promise<void>((resolve) => tcp.close(() => resolve()));
    },
  };
}

for (const kind of await targetKinds()) {
  test(`[${kind.name}] smartalex call to a do-not-call number is refused before dialling`, async () => {
    const target = await kind.create();
    const carrier = await listeningCarrier();
    try {
      const tenantId = await withOpen(target, async (db) => {
        await migrate(db);
        const tenant = await createTenant(db, { name: 'outbound' });
        const agent = await createAgent(db, tenant.id, { name: 'echo', mode: 'echo' });
        await addNumber(db, tenant.id, { number: '+12125550100', agentId: agent.id, allowedCidrs: ['127.0.0.1/32'] });
        await grantConsent(db, tenant.id, '+12125550123', { source: 'web form' });
        await addToDoNotCall(db, tenant.id, '212.555.0123', { reason: 'asked on call' });
        return tenant.id;
      });

      const result = await runCli(['call', '(212) 555-0123', '--tenant', tenantId, '--agent', 'echo', '--via', `sip:127.0.0.1:${carrier.port}`, '--timeout', '5'], target.env);
      refusedWith(result, /^smartalex: outbound call refused \(do-not-call\): the number ending 0123 is on the tenant's do-not-call list$/);
      assert.is(result.stdout, '');
      await new Promise((r) => setTimeout(r, 200));
      assert.is(carrier.heard(), 0, 'something reached the carrier');

      await withOpen(target, async (db) => {
        const calls = rows<{ n: number }>(await db.owner.execute(sql`select count(*)::int as n from calls where tenant_id = ${tenantId}`))[0]!;
        assert.is(calls.n, 0, 'a call row was created');
        const refused = rows<{ actor: string; target: string; reason: string; row: string }>(await db.owner.execute(sql`
          select actor, target, detail->>'reason' as reason, row_to_json(a)::text as row from audit_log a where tenant_id = ${tenantId} and action = 'call.refused'`));
        assert.equal(refused.map((r) => ({ actor: r.actor, target: r.target, reason: r.reason })), [{ actor: 'operator:cli', target: '+*******0123', reason: 'do-not-call' }]);
        assert.not.ok(refused[0]!.row.includes('2125550123'));
      });
    } finally {
      await carrier.close();
      await target.cleanup();
    }
  });
}

test.run();
