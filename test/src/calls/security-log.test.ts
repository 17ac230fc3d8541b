/**
 * SecurityLog: a flood of SIP security events becomes a bounded number of
 * database rows (coalesced by tenant, type and source, capped per flush, the
 * rest counted in one overflow row), with every event accounted for.
 * Flushes are driven by hand (the interval is set far out).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { SecurityLog } from '../../../src/calls/security-log.ts';
import { createLogger } from '../../../src/log.ts';
import { createTenant, listAudit, schema, type Database } from '../../../storage/index.ts';
import { backends } from '../../support/databases.ts';

const logger = createLogger('silent');
type Row = typeof schema.securityEvents.$inferSelect;

async function rowsOf(db: Database, after: number): Promise<Row[]> {
  return (await db.owner.select().from(schema.securityEvents)).filter((r) => r.id > after);
}

async function lastId(db: Database): Promise<number> {
  return Math.max(0, ...(await db.owner.select().from(schema.securityEvents)).map((r) => r.id));
}

const countOf = (r: Row): number => Number((r.detail as { count?: unknown }).count);

for (const backend of await backends()) {
  const db = await backend.open();

  test(`[${backend.name}] 5000 identical events from one source become one row carrying the count`, async () => {
    const before = await lastId(db);
    const log = new SecurityLog(db, logger, { flushIntervalMs: 3_600_000 });
    for (let i = 0; i < 5000; i++) log.record({ type: 'rate-limited', source: '198.51.100.7', detail: { detail: 'INVITE' } });
    await log.close();
    const rows = await rowsOf(db, before);
    assert.is(rows.length, 1);
    assert.is(rows[0]!.type, 'rate-limited');
    assert.is(rows[0]!.sourceIp, '198.51.100.7');
    assert.is(countOf(rows[0]!), 5000);
    assert.is(log.stats.events, 5000);
  });

  test(`[${backend.name}] a flood from many sources is capped per flush; the rest is one overflow row; nothing is lost`, async () => {
    const before = await lastId(db);
    const log = new SecurityLog(db, logger, { flushIntervalMs: 3_600_000, maxRowsPerFlush: 10, maxPending: 50 });
    const flushes = 3;
    let recorded = 0;
    for (let f = 0; f < flushes; f++) {
      for (let i = 0; i < 4000; i++) { log.record({ type: 'auth-failed', source: `203.0.113.${i % 250}` }); recorded++; }
      await log.flush();
    }
    await log.close();
    const rows = await rowsOf(db, before);
    assert.ok(rows.length <= flushes * (10 + 1), `${rows.length} rows for ${recorded} events`);
    const perSource = rows.filter((r) => r.type === 'auth-failed');
    const overflow = rows.filter((r) => r.type === 'coalesced-overflow');
    assert.is(perSource.length, flushes * 10);
    assert.is(overflow.length, flushes);
    const total = [...perSource, ...overflow].reduce((n, r) => n + countOf(r), 0);
    assert.is(total, recorded, 'every event is counted in some row');
    assert.is(log.stats.rows, flushes * 10);
  });

  test(`[${backend.name}] events about a tenant's number also reach that tenant's audit log, coalesced`, async () => {
    const tenant = await createTenant(db, { name: 'audited' });
    const other = await createTenant(db, { name: 'other' });
    const before = await lastId(db);
    const log = new SecurityLog(db, logger, { flushIntervalMs: 3_600_000 });
    for (let i = 0; i < 300; i++) log.record({ type: 'call-rejected', source: '192.0.2.44', tenantId: tenant.id, detail: { reason: 'bad-response' } });
    log.record({ type: 'call-rejected', source: '192.0.2.45' });
    await log.close();
    const audit = (await listAudit(db, tenant.id)).filter((a) => a.action === 'sip.call-rejected');
    assert.is(audit.length, 1);
    assert.is(audit[0]!.actor, 'system:sip');
    assert.is(audit[0]!.sourceIp, '192.0.2.44');
    assert.is((audit[0]!.detail as { count: number }).count, 300);
    assert.is((await listAudit(db, other.id)).filter((a) => a.action.startsWith('sip.')).length, 0);
    const rows = await rowsOf(db, before);
    assert.equal(rows.map((r) => [r.sourceIp, countOf(r)]).sort(), [['192.0.2.44', 300], ['192.0.2.45', 1]]);
  });

  test(`[${backend.name}] nothing pending writes nothing; close flushes once and stops`, async () => {
    const before = await lastId(db);
    const log = new SecurityLog(db, logger, { flushIntervalMs: 3_600_000 });
    await log.flush();
    await log.close();
    assert.is((await rowsOf(db, before)).length, 0);
  });

  test.after(() => backend.cleanup());
}

test.run();
