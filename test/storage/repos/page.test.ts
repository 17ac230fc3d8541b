/**
 * Keyset pages over timestamps that differ by microseconds (a Postgres server
 * stamps now() to the microsecond; a millisecond cursor would skip or repeat
 * rows within one millisecond), on both backends; forged cursors refused.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { createTenant, InvalidCursorError, listCallsPage, schema, withTenant } from '../../../storage/index.ts';
import { backends } from '../../support/databases.ts';

for (const backend of await backends()) {
  test(`[${backend.name}] pages over same-millisecond timestamps list every row exactly once, newest first`, async () => {
    try {
      const db = await backend.open();
      const tenant = await createTenant(db, { name: 'pages' });
      const ids: string[] = [];
      await withTenant(db, tenant.id, async (tx) => {
        // 3 rows per millisecond, 1 µs apart, and two rows with the very same instant (the id breaks the tie).
        for (let i = 0; i < 12; i++) {
          const at = `2026-01-01 00:00:00.${String(100 + Math.floor(i / 3)).padStart(3, '0')}${String(i % 3 === 2 ? 1 : i % 3).padStart(3, '0')}+00`;
          const [row] = await tx.insert(schema.calls).values({
            tenantId: tenant.id, direction: 'inbound', fromUri: 'sip:a@b', toUri: 'sip:c@d', sipCallId: randomUUID(), state: 'ended', startedAt: sql`${at}::timestamptz`,
          }).returning({ id: schema.calls.id });
          ids.push(row!.id);
        }
      });
      for (const limit of [1, 2, 3, 5]) {
        const seen: string[] = [];
        let cursor: string | undefined;
        for (let pages = 0; pages < 20; pages++) {
          const page = await listCallsPage(db, tenant.id, {}, { limit, cursor });
          seen.push(...page.items.map((c) => c.id));
          if (!page.next) break;
          cursor = page.next;
        }
        assert.is(seen.length, ids.length, `limit ${limit}: ${seen.length} rows listed`);
        assert.equal([...seen].sort(), [...ids].sort(), `limit ${limit}: every row once`);
      }
      for (const forged of ['bm9wZQ', Buffer.from('["1",1]').toString('base64url'), Buffer.from(`["x","${randomUUID()}"]`).toString('base64url'), '!!']) {
        try {
          await listCallsPage(db, tenant.id, {}, { limit: 2, cursor: forged });
          assert.unreachable(`cursor ${forged} accepted`);
        } catch (error) {
          assert.instance(error, InvalidCursorError);
        }
      }
    } finally {
      await backend.cleanup();
    }
  });
}

test.run();
