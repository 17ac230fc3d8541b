/**
 * Bad input: a few hundred random bodies (wrong types, unknown and
 * prototype-polluting keys, deep nesting, huge strings, non-JSON), random
 * path ids and query strings thrown at every /v1 write route, as an owner.
 * Every answer is a 4xx problem document (never a 500, never a 2xx), and the
 * database is byte-for-byte what it was: nothing written.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { randomBytes, randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import type { z } from 'zod';
import { PostgresTenantKeyStore, rows, type Database } from '../../../storage/index.ts';
import { KeyRing, LocalMasterKey, MemoryObjectStore } from '../../../storage/vault/index.ts';
import { ALL_ROUTES, type ApiRoute } from '../../../src/api/index.ts';
import { apiHarness } from '../../support/api.ts';
import { backends } from '../../support/databases.ts';

/** A small deterministic PRNG (mulberry32) so a failure reproduces. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const KEYS = ['email', 'password', 'role', 'name', 'token', 'code', 'recoveryCode', 'disabled', 'graceSeconds', 'require2faForAdmins', 'tenantId',
  'currentPassword', 'newPassword', '__proto__', 'constructor', 'prototype', 'id', '', ' ', 'ROLE', 'email\u0000'];

function randomValue(r: () => number, depth = 0): unknown {
  const pick = Math.floor(r() * (depth > 3 ? 8 : 11));
  switch (pick) {
    case 0: return null;
    case 1: return r() < 0.5;
    case 2: return Math.floor((r() - 0.5) * 2 ** (r() * 60));
    case 3: return r() < 0.5 ? Number.MAX_SAFE_INTEGER * 4 : -0.5;
    case 4: return 'owner';
    case 5: return 'x'.repeat(Math.floor(r() * 2000));
    case 6: return ['', 'a@b', 'not-an-email', '123456', 'Correct-Horse-7-Battery', 'sak_x', "'; drop table users; --", '\u0000\uffff', '<script>'][Math.floor(r() * 9)];
    case 7: return randomUUID();
    case 8: return Array.from({ length: Math.floor(r() * 4) }, () => randomValue(r, depth + 1));
    default: return randomObject(r, depth + 1);
  }
}

function randomObject(r: () => number, depth = 0): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const n = 1 + Math.floor(r() * 4);
  for (let i = 0; i < n; i++) Object.defineProperty(out, KEYS[Math.floor(r() * KEYS.length)]!, { value: randomValue(r, depth), enumerable: true, configurable: true, writable: true });
  return out;
}

/** A random body: mostly objects with at least one wrong or unknown field, sometimes not an object or not JSON. */
function randomBody(r: () => number, route: ApiRoute): { payload: string; contentType: string } {
  const kind = r();
  if (kind < 0.08) return { payload: '{"email": ', contentType: 'application/json' };
  if (kind < 0.12) return { payload: 'email=a@b.c', contentType: 'application/x-www-form-urlencoded' };
  if (kind < 0.16) {
    // A JSON null is "no body", valid where the body is optional (POST /me/totp): never sent as the whole body.
    const value = randomValue(r, 4);
    return { payload: value === null ? '[null]' : JSON.stringify(value) ?? '1', contentType: 'application/json' };
  }
  if (kind < 0.19) return { payload: JSON.stringify({ name: 'x'.repeat(70_000) }), contentType: 'application/json' };
  if (kind < 0.22) { // deep nesting
    let nested: unknown = 1;
    for (let i = 0; i < 500; i++) nested = { a: nested };
    return { payload: JSON.stringify(nested), contentType: 'application/json' };
  }
  const body = randomObject(r);
  // Never a valid body (exactly {} is one for a few routes, {"name": "owner"} for another): one that the route's
  // schema would accept gets an unknown field, so which routes exist never decides whether this test passes.
  const valid = Object.keys(body).length === 0 || (route.body !== undefined && (route.body as z.ZodType).safeParse(body).success);
  return { payload: JSON.stringify(valid ? { ...body, junk: 1 } : body), contentType: 'application/json' };
}

function randomPath(route: ApiRoute, r: () => number): string {
  return `/v1${route.url.replace(/:([A-Za-z0-9_]+)/g, () => (r() < 0.3 ? ['not-a-uuid', '0', '%00', '..%2f..', "1' or '1'='1"][Math.floor(r() * 5)]! : randomUUID()))}`;
}

async function snapshot(db: Database): Promise<string> {
  const tables = rows<{ t: string }>(await db.owner.execute(sql`select tablename as t from pg_tables where schemaname = 'public' order by 1`)).map((x) => x.t);
  const parts: string[] = [];
  for (const t of tables) {
    const ident = sql.identifier(t);
    // sessions.last_seen_at moves on every authenticated request: compared without it.
    const q = t === 'sessions'
      ? sql`select md5(coalesce(string_agg((s.id, s.revoked_at, s.expires_at, s.mfa_pending)::text, ',' order by s.id), '')) as h, count(*)::int as n from sessions s`
      : sql`select md5(coalesce(string_agg(x::text, ',' order by x::text), '')) as h, count(*)::int as n from ${ident} x`;
    const [row] = rows<{ h: string; n: number }>(await db.owner.execute(q));
    parts.push(`${t}:${row!.n}:${row!.h}`);
  }
  return parts.join('\n');
}

/** Write routes a request can get wrong: those with a body or a path id (DELETE /v1/me/sessions takes neither: any request to it is valid). */
const WRITES = ALL_ROUTES.filter((r) => r.method !== 'GET' && (r.body !== undefined || r.url.includes(':')));

for (const backend of await backends()) {
  test(`[${backend.name}] ${WRITES.length} write routes x random bodies: 4xx problem documents, nothing written`, async () => {
    try {
      const db = await backend.open();
      // With recording storage configured, as a server has it: an erasure route then answers for the id (404), not 503 for the missing store.
      const h = await apiHarness(db, { services: { keyRing: new KeyRing({ master: LocalMasterKey.generate(), store: new PostgresTenantKeyStore(db) }), recordingStore: new MemoryObjectStore(), callTokenSecret: randomBytes(32) } });
      try {
        const tenant = await h.tenant();
        const owner = await h.user(tenant, 'owner');
        const session = (await h.login(owner.email)).auth;
        const key = await h.bearer(tenant, 'owner');
        // Used once first: "last used" is recorded at most once a minute, and the clock stands still from here.
        assert.is((await h.app.inject({ method: 'GET', url: '/v1/me', headers: { authorization: key } })).statusCode, 200);
        const before = await snapshot(h.db);
        const r = prng(0x5eed);
        const statuses = new Map<number, number>();
        const total = 400;
        for (let i = 0; i < total; i++) {
          const route = WRITES[i % WRITES.length]!;
          const body = randomBody(r, route);
          const query = r() < 0.2 ? `?${['limit=-1', 'cursor=%%%', 'keepCurrent=maybe', 'x=1', 'role[]=owner'][Math.floor(r() * 5)]}` : '';
          const res = await h.app.inject({
            method: route.method, url: randomPath(route, r) + query,
            headers: { authorization: route.permission === 'self' ? session : key, 'content-type': body.contentType },
            payload: body.payload,
          });
          statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);
          const context = `${route.method} ${route.url} with ${body.payload.slice(0, 200)}${query}`;
          assert.ok(res.statusCode >= 400 && res.statusCode < 500, `${context}: ${res.statusCode} ${res.body.slice(0, 300)}`);
          assert.match(String(res.headers['content-type']), /^application\/problem\+json/, context);
          assert.not.match(res.body, /at .*\.ts:\d+|stack/i, `${context}: no stack trace`);
        }
        assert.is(await snapshot(h.db), before, 'nothing was written');
        assert.ok((statuses.get(400) ?? 0) > total / 2, `mostly 400s: ${JSON.stringify([...statuses])}`);
        assert.ok(statuses.has(413), 'oversized bodies were 413');
        assert.ok(({}).constructor === Object && !('role' in {}), 'no prototype pollution');
      } finally {
        await h.close();
      }
    } finally {
      await backend.cleanup();
    }
  });
}

test.run();
