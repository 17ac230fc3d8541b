/**
 * The benchmark's database probe: it counts the statements and transactions
 * the application runs inside its window (and only there), names them,
 * times them on PGlite, and puts the driver back when disposed. On each
 * backend the tests have (PGlite always, a Postgres server when configured).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createTenant, listTenantIds } from '../../../storage/index.ts';
import { DbProbe, statementKey } from '../../../tools/bench/db-probe.ts';
import { backends } from '../../support/databases.ts';

test('statementKey collapses whitespace and bounds the length', () => {
  assert.is(statementKey('select  *\n  from\tx'), 'select * from x');
  assert.is(statementKey('x'.repeat(500)).length, 160);
});

for (const backend of await backends()) {
  test(`${backend.name}: counts what runs in the window, by statement; dispose restores the driver`, async () => {
    const db = await backend.open();
    try {
      const client = (db.app as unknown as { $client: Record<string, unknown> }).$client;
      const method = backend.name === 'pglite' ? 'query' : 'unsafe';
      const original = client[method];
      const probe = new DbProbe(db);
      assert.is(probe.backend, backend.name);
      await createTenant(db, { name: 'before the window' }); // not counted
      probe.start();
      await createTenant(db, { name: 'one' });
      await createTenant(db, { name: 'two' });
      await listTenantIds(db);
      const result = probe.stop();
      await createTenant(db, { name: 'after the window' }); // not counted
      assert.is(result.backend, backend.name);
      assert.ok(result.transactions >= 3, `transactions ${result.transactions}`);
      assert.ok(result.statements >= 3, `statements ${result.statements}`);
      const inserts = result.byStatement.filter((s) => /^insert into "tenants"/i.test(s.statement));
      assert.is(inserts.reduce((n, s) => n + s.count, 0), 2, JSON.stringify(result.byStatement));
      assert.is(result.byStatement.reduce((n, s) => n + s.count, 0), result.statements);
      if (backend.name === 'pglite') {
        assert.ok(result.statementMs !== null && result.statementMs > 0);
        assert.ok(result.maxStatementMs !== null && result.maxStatementMs <= result.statementMs);
      } else {
        assert.is(result.statementMs, null);
      }
      assert.is(result.stalls.thresholdMs, 20);
      assert.ok(result.stalls.withDatabaseWork <= result.stalls.count);
      assert.is.not(client[method], original, 'wrapped while probing');
      probe.dispose();
      assert.is(client[method], original, 'restored');
    } finally {
      await backend.cleanup();
    }
  });
}

test.run();
