/**
 * The catalog, read as Postgres sees it: every tenant table (a public table
 * with a `tenant_id` column, plus `tenants`) has row-level security enabled
 * AND forced and at least one policy keyed on the tenant setting; the runtime
 * role is not superuser, cannot bypass RLS, owns nothing, cannot become a
 * role that could, and reads no table that lacks forced RLS; withTenant really
 * runs as that role. The checker is also shown catching each kind of breakage,
 * so a silent checker cannot pass. Runs on PGlite and on a Postgres server.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { createTenant, migrate, rows, withoutTenant, withTenant, type Database } from '../../storage/index.ts';
import { backends } from '../support/databases.ts';

interface TableSecurity { table: string; rls: boolean; forced: boolean; policies: number; keyedPolicies: number }

async function tenantTableSecurity(db: Database): Promise<TableSecurity[]> {
  const result = await db.owner.execute(sql`
    select c.relname as table, c.relrowsecurity as rls, c.relforcerowsecurity as forced,
      (select count(*)::int from pg_policy p where p.polrelid = c.oid) as policies,
      (select count(*)::int from pg_policies p where p.schemaname = 'public' and p.tablename = c.relname
         and p.qual like '%smartalex_current_tenant()%') as "keyedPolicies"
    from pg_class c join pg_namespace n on n.oid = c.relnamespace
    where n.nspname = 'public' and c.relkind in ('r', 'p')
      and (c.relname = 'tenants' or exists (
        select 1 from pg_attribute a where a.attrelid = c.oid and a.attname = 'tenant_id' and not a.attisdropped))
    order by c.relname`);
  return rows<TableSecurity>(result);
}

/** Problems with the tenant tables, one line each; empty when all is well. */
async function tableProblems(db: Database): Promise<string[]> {
  const problems: string[] = [];
  for (const t of await tenantTableSecurity(db)) {
    if (!t.rls) problems.push(`${t.table}: row-level security not enabled`);
    if (!t.forced) problems.push(`${t.table}: row-level security not forced`);
    if (t.policies === 0) problems.push(`${t.table}: no policy`);
    else if (t.keyedPolicies === 0) problems.push(`${t.table}: no policy keyed on app.tenant_id`);
  }
  return problems;
}

/** Problems with the runtime role, one line each; empty when all is well. */
async function roleProblems(db: Database): Promise<string[]> {
  const role = db.appRole;
  const problems: string[] = [];
  const found = rows<{ rolsuper: boolean; rolbypassrls: boolean }>(
    await db.owner.execute(sql`select rolsuper, rolbypassrls from pg_roles where rolname = ${role}`))[0];
  if (!found) return [`${role}: role does not exist`];
  if (found.rolsuper) problems.push(`${role}: is superuser`);
  if (found.rolbypassrls) problems.push(`${role}: can bypass row-level security`);
  const owned = rows<{ name: string; kind: string }>(await db.owner.execute(sql`
    select n.nspname || '.' || c.relname as name, c.relkind::text as kind
    from pg_class c join pg_namespace n on n.oid = c.relnamespace
    where c.relowner = (select oid from pg_roles where rolname = ${role}) and c.relkind in ('r', 'p', 'v', 'm', 'S', 'f')`));
  for (const o of owned) problems.push(`${role}: owns ${o.name} (relkind ${o.kind})`);
  // A role it can SET ROLE to would carry that role's powers.
  const reachable = rows<{ name: string }>(await db.owner.execute(sql`
    select r.rolname as name from pg_roles r
    where r.rolname <> ${role} and pg_has_role(${role}, r.oid, 'MEMBER')
      and (r.rolsuper or r.rolbypassrls or exists (
        select 1 from pg_class c where c.relowner = r.oid and c.relkind in ('r', 'p', 'v', 'm', 'S', 'f')))`));
  for (const r of reachable) problems.push(`${role}: can become ${r.name}, which is superuser, bypasses RLS or owns tables`);
  // Anything the runtime role may read or change must be under forced RLS.
  const exposed = rows<{ name: string }>(await db.owner.execute(sql`
    select c.relname as name from pg_class c join pg_namespace n on n.oid = c.relnamespace
    where n.nspname = 'public' and c.relkind in ('r', 'p', 'v', 'm')
      and (has_table_privilege(${role}, c.oid, 'SELECT') or has_table_privilege(${role}, c.oid, 'UPDATE')
           or has_table_privilege(${role}, c.oid, 'DELETE'))
      and not (c.relrowsecurity and c.relforcerowsecurity)`));
  for (const e of exposed) problems.push(`${role}: may read or change ${e.name}, which is not under forced RLS`);
  return problems;
}

for (const backend of await backends()) {
  test(`[${backend.name}] tenant tables: RLS enabled, forced and keyed on the tenant`, async () => {
    try {
      const db = await backend.open();
      const tables = await tenantTableSecurity(db);
      const names = tables.map((t) => t.table);
      for (const expected of ['tenants', 'users', 'api_keys', 'agents', 'numbers', 'calls', 'transcript_turns', 'recordings', 'audit_log']) {
        assert.ok(names.includes(expected), `catalog query missed ${expected} (found ${names.join(', ')})`);
      }
      assert.equal(await tableProblems(db), []);
    } finally {
      await backend.cleanup();
    }
  });

  test(`[${backend.name}] the runtime role is no superuser, cannot bypass RLS and owns nothing`, async () => {
    try {
      const db = await backend.open();
      assert.is(db.appRole, 'smartalex_app');
      assert.equal(await roleProblems(db), []);
    } finally {
      await backend.cleanup();
    }
  });

  test(`[${backend.name}] withTenant runs as the runtime role with a transaction-local tenant`, async () => {
    try {
      const db = await backend.open();
      const tenant = await createTenant(db, { name: 'catalog' });
      const inside = await withTenant(db, tenant.id, async (tx) => rows<{ user: string; tenant: string; bypass: string }>(
        await tx.execute(sql`select current_user as user, current_setting('app.tenant_id', true) as tenant,
          current_setting('row_security') as bypass`))[0]!);
      assert.is(inside.user, 'smartalex_app');
      assert.is(inside.tenant, tenant.id);
      assert.is(inside.bypass, 'on');
      const without = await withoutTenant(db, async (tx) => rows<{ user: string; tenant: string | null }>(
        await tx.execute(sql`select current_user as user, current_setting('app.tenant_id', true) as tenant`))[0]!);
      assert.is(without.user, 'smartalex_app');
      assert.ok(!without.tenant, `tenant setting leaked out of the previous transaction: ${without.tenant}`);
      // Outside any scope the connection is back to the owner login, with no tenant set.
      const after = rows<{ user: string; tenant: string | null }>(
        await db.app.execute(sql`select current_user as user, current_setting('app.tenant_id', true) as tenant`))[0]!;
      assert.is.not(after.user, 'smartalex_app');
      assert.ok(!after.tenant, 'tenant setting outlived its transaction');
    } finally {
      await backend.cleanup();
    }
  });

  test(`[${backend.name}] the checker catches a table without RLS, unforced RLS, no policy, and a table the role owns`, async () => {
    try {
      const db = await backend.open();
      const probe = `catalog_probe_${randomUUID().slice(0, 8)}`;
      const t = sql.identifier(probe);
      await db.owner.execute(sql`create table ${t} (id int primary key, tenant_id uuid not null)`);
      assert.ok((await tableProblems(db)).includes(`${probe}: row-level security not enabled`));
      assert.ok((await tableProblems(db)).includes(`${probe}: row-level security not forced`));
      assert.ok((await tableProblems(db)).includes(`${probe}: no policy`));
      await db.owner.execute(sql`alter table ${t} enable row level security`);
      await db.owner.execute(sql`create policy open_door on ${t} using (true)`);
      assert.equal(await tableProblems(db), [`${probe}: row-level security not forced`, `${probe}: no policy keyed on app.tenant_id`]);
      await db.owner.execute(sql`alter table ${t} force row level security`);
      await db.owner.execute(sql`drop policy open_door on ${t}`);
      await db.owner.execute(sql`create policy tenant_isolation on ${t} using (tenant_id = smartalex_current_tenant())`);
      assert.equal(await tableProblems(db), []);

      await db.owner.execute(sql`grant select on ${t} to ${sql.identifier(db.appRole)}`);
      await db.owner.execute(sql`alter table ${t} no force row level security`);
      assert.ok((await roleProblems(db)).includes(`${db.appRole}: may read or change ${probe}, which is not under forced RLS`));
      await db.owner.execute(sql`alter table ${t} force row level security`);
      assert.equal(await roleProblems(db), []);

      await db.owner.execute(sql`alter table ${t} owner to ${sql.identifier(db.appRole)}`);
      assert.ok((await roleProblems(db)).includes(`${db.appRole}: owns public.${probe} (relkind r)`));
      await db.owner.execute(sql`drop table ${t}`);
      assert.equal(await roleProblems(db), []);
    } finally {
      await backend.cleanup();
    }
  });
}

// Role attributes are cluster-wide on a Postgres server, where other suites share
// the runtime role; so the role-attribute half of the checker is proven on an
// in-memory PGlite database only.
test('[pglite] the checker catches a superuser, BYPASSRLS, or a role the runtime role can become', async () => {
  const [pglite] = await backends();
  try {
    const db = await pglite!.open();
    const role = sql.identifier(db.appRole);
    await db.owner.execute(sql`alter role ${role} bypassrls`);
    assert.ok((await roleProblems(db)).includes(`${db.appRole}: can bypass row-level security`));
    await db.owner.execute(sql`alter role ${role} nobypassrls superuser`);
    assert.ok((await roleProblems(db)).includes(`${db.appRole}: is superuser`));
    // migrate puts a loosened role back, and keeps an operator-made LOGIN (for SMARTALEX_APP_DATABASE_URL)
    await db.owner.execute(sql`alter role ${role} bypassrls createrole login`);
    await migrate(db);
    assert.equal(await roleProblems(db), []);
    const after = rows<{ rolcreaterole: boolean; rolcanlogin: boolean }>(await db.owner.execute(sql`select rolcreaterole, rolcanlogin from pg_roles where rolname = ${db.appRole}`))[0];
    assert.equal({ ...after }, { rolcreaterole: false, rolcanlogin: true });
    await db.owner.execute(sql`create role catalog_probe_owner nologin`);
    await db.owner.execute(sql`alter table agents owner to catalog_probe_owner`);
    await db.owner.execute(sql`grant catalog_probe_owner to ${role}`);
    assert.ok((await roleProblems(db)).includes(`${db.appRole}: can become catalog_probe_owner, which is superuser, bypasses RLS or owns tables`));
  } finally {
    await pglite!.cleanup();
  }
});

test.run();
