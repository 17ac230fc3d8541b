/**
 * The README's example list route, end to end: keyset pages over a real
 * table walk every row once, in order, scoped to the caller's tenant; a
 * filter narrows; a forged cursor and an over-large limit are 400s.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { z } from 'zod';
import { and, eq } from 'drizzle-orm';
import { sql } from 'drizzle-orm';
import { schema, withTenant } from '../../../storage/index.ts';
import { afterCursor, keysetOrder, decodeCursor, defineRoute, pageOf, pageQuery, pageSchema } from '../../../src/api/index.ts';
import { apiHarness } from '../../support/api.ts';
import { backends } from '../../support/databases.ts';

const agent = z.object({ id: z.uuid(), name: z.string(), createdAt: z.string() });
const listAgents = defineRoute({
  method: 'GET', url: '/test/agents', tag: 'test', summary: 'List agents', permission: 'agents:read',
  query: pageQuery.extend({ name: z.string().max(100).optional() }),
  response: pageSchema(agent),
  handler: async ({ query, ctx }) => {
    const cursor = decodeCursor(query.cursor);
    const rows = await ctx.tenant((tx) => tx.select().from(schema.agents)
      .where(and(query.name ? eq(schema.agents.name, query.name) : undefined, afterCursor(cursor, schema.agents.createdAt, schema.agents.id, 'desc')))
      .orderBy(...keysetOrder(schema.agents.createdAt, schema.agents.id, 'desc')).limit(query.limit + 1));
    const page = pageOf(rows, query.limit, (r) => [r.createdAt, r.id]);
    return { items: page.items.map((r) => ({ id: r.id, name: r.name, createdAt: r.createdAt.toISOString() })), nextCursor: page.nextCursor };
  },
});

for (const backend of await backends()) {
  test(`[${backend.name}] cursor pages walk every row of the tenant once, newest first`, async () => {
    try {
      const h = await apiHarness(await backend.open(), { routes: [listAgents] });
      try {
        const mine = await h.tenant('mine');
        const other = await h.tenant('other');
        await withTenant(h.db, mine, (tx) => tx.insert(schema.agents).values(Array.from({ length: 7 }, (_, i) => ({ tenantId: mine, name: `a${i}` }))));
        // Microsecond timestamps within one millisecond (what now() stores): the cursor has milliseconds only.
        await h.db.owner.execute(sql`update agents set created_at = '2026-03-01T00:00:00.123Z'::timestamptz + make_interval(secs => (substr(name, 2)::int % 3) * 0.0001) where name like 'a%'`);
        await withTenant(h.db, other, (tx) => tx.insert(schema.agents).values([{ tenantId: other, name: 'theirs' }]));
        const auth = { authorization: await h.bearer(mine, 'manager') };
        const seen: string[] = [];
        let cursor: string | null = null;
        let pages = 0;
        do {
          const url: string = `/v1/test/agents?limit=3${cursor ? `&cursor=${cursor}` : ''}`;
          const res = await h.app.inject({ method: 'GET', url, headers: auth });
          assert.is(res.statusCode, 200, res.body);
          const body = res.json() as { items: { name: string; createdAt: string }[]; nextCursor: string | null };
          seen.push(...body.items.map((i) => i.name));
          cursor = body.nextCursor;
          pages++;
        } while (cursor && pages < 10);
        assert.is(pages, 3);
        assert.equal([...seen].sort(), ['a0', 'a1', 'a2', 'a3', 'a4', 'a5', 'a6']);
        const filtered = await h.app.inject({ method: 'GET', url: '/v1/test/agents?name=a4', headers: auth });
        assert.equal((filtered.json() as { items: { name: string }[] }).items.map((i) => i.name), ['a4']);
        assert.is((await h.app.inject({ method: 'GET', url: '/v1/test/agents?cursor=Zm9v', headers: auth })).statusCode, 400);
        assert.is((await h.app.inject({ method: 'GET', url: '/v1/test/agents?limit=5000', headers: auth })).statusCode, 400);
        assert.is((await h.app.inject({ method: 'GET', url: '/v1/test/agents?tenantId=x', headers: auth })).statusCode, 400);
      } finally {
        await h.close();
      }
    } finally {
      await backend.cleanup();
    }
  });
}

test.run();
