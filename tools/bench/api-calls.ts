/**
 * The cost of an authenticated control-plane request: `GET /v1/calls` pages
 * (API key auth, permission check, withTenant + RLS, keyset page, zod
 * serialisation) over real HTTP on loopback, against a tenant with `calls`
 * call rows (and a second tenant with as many, so RLS has rows to hide).
 *
 *   npx tsx tools/bench/api-calls.ts [requests] [calls] [concurrency]   (default 2000 5000 1)
 *   PG_URL=postgres://... npx tsx tools/bench/api-calls.ts              (a Postgres server instead of PGlite)
 *
 * Prints p50 / p90 / p99 / max latency of the first page (limit 50), of a
 * deep page (a cursor half-way down), and of a filtered page (agentId +
 * outcome + time range), plus requests per second. A benchmark, not a test:
 * no thresholds.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { Registry } from 'prom-client';
import postgres from 'postgres';
import {
  createAgent, createTenant, issueApiKey, migrate, openDatabase, schema, withTenant, type Database,
} from '../../storage/index.ts';
import { DEFAULT_SETTINGS, registerControlPlane, systemClock } from '../../src/api/index.ts';
import { createHttpServer } from '../../src/http/server.ts';
import { createLogger } from '../../src/log.ts';

const requests = Number(process.argv[2] ?? 2000);
const callCount = Number(process.argv[3] ?? 5000);
const concurrency = Number(process.argv[4] ?? 1);

async function openBenchDatabase(): Promise<{ db: Database; drop: () => Promise<void> }> {
  const url = process.env.PG_URL;
  if (!url) {
    const db = await openDatabase({ dataDir: '', inMemory: true, appRole: 'smartalex_app' });
    await migrate(db);
    return { db, drop: () => db.close() };
  }
  const name = `smartalex_bench_${randomBytes(4).toString('hex')}`;
  const admin = postgres(url, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database ${name}`);
  const u = new URL(url);
  u.pathname = `/${name}`;
  const db = await openDatabase({ url: u.toString(), dataDir: '', appRole: 'smartalex_app' });
  await migrate(db);
  return {
    db,
    drop: async () => {
      await db.close();
      await admin.unsafe(`drop database if exists ${name} with (force)`);
      await admin.end();
    },
  };
}

async function seed(db: Database, tenantId: string, agentId: string, n: number): Promise<void> {
  const start = Date.now() - n * 60_000;
  for (let i = 0; i < n; i += 500) {
    await withTenant(db, tenantId, (tx) => tx.insert(schema.calls).values(Array.from({ length: Math.min(500, n - i) }, (_, k) => {
      const at = new Date(start + (i + k) * 60_000);
      const answered = (i + k) % 4 !== 0;
      return {
        tenantId, agentId, direction: 'inbound' as const, fromUri: 'sip:+15550100@carrier', toUri: 'sip:2000@smartalex', sipCallId: randomUUID(), state: 'ended',
        startedAt: at, answeredAt: answered ? new Date(at.getTime() + 2000) : null, endedAt: new Date(at.getTime() + 45_000), endReason: 'remote-bye',
        latency: { turns: 4, e2eMs: { p50: 700, p95: 900, max: 950 }, overheadMs: { p50: 40, p95: 60, max: 70 } },
      };
    })));
  }
}

function summary(name: string, samples: number[], wallMs: number): string {
  const s = [...samples].sort((a, b) => a - b);
  const at = (p: number) => s[Math.min(s.length - 1, Math.floor(p * s.length))]!.toFixed(2);
  return `${name.padEnd(26)} n=${s.length}  p50 ${at(0.5)} ms  p90 ${at(0.9)} ms  p99 ${at(0.99)} ms  max ${s[s.length - 1]!.toFixed(2)} ms  ${(s.length / (wallMs / 1000)).toFixed(0)} req/s`;
}

async function run(base: string, auth: string, path: () => string): Promise<{ samples: number[]; wallMs: number }> {
  const samples: number[] = [];
  let next = 0;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < requests) {
      next++;
      const t = performance.now();
      const res = await fetch(`${base}${path()}`, { headers: { authorization: auth } });
      await res.arrayBuffer();
      if (res.status !== 200) throw new Error(`status ${res.status}`);
      samples.push(performance.now() - t);
    }
  }));
  return { samples, wallMs: performance.now() - t0 };
}

const { db, drop } = await openBenchDatabase();
const app = createHttpServer({ logger: createLogger('silent'), metrics: new Registry(), readiness: {} });
try {
  const tenant = await createTenant(db, { name: 'bench' });
  const other = await createTenant(db, { name: 'other' });
  const agent = await createAgent(db, tenant.id, { name: 'bench' });
  const otherAgent = await createAgent(db, other.id, { name: 'other' });
  await seed(db, tenant.id, agent.id, callCount);
  await seed(db, other.id, otherAgent.id, callCount);
  const key = await issueApiKey(db, tenant.id, { name: 'bench', role: 'viewer' });
  await registerControlPlane(app, { db, logger: createLogger('silent'), clock: systemClock, settings: DEFAULT_SETTINGS, sessionSecret: randomBytes(32), services: {} });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  const base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  const auth = `Bearer ${key.key}`;
  // The cursor half-way down the list, found by walking it once.
  let cursor: string | null = null;
  for (let i = 0; i < Math.floor(callCount / 100); i++) {
    const page = await (await fetch(`${base}/v1/calls?limit=50${cursor ? `&cursor=${cursor}` : ''}`, { headers: { authorization: auth } })).json() as { nextCursor: string | null };
    cursor = page.nextCursor;
  }
  const from = new Date(Date.now() - callCount * 30_000).toISOString();
  await run(base, auth, () => '/v1/calls?limit=50'); // warm-up (JIT, connection, plans)
  console.log(`GET /v1/calls: ${callCount} calls per tenant, 2 tenants, ${db.kind}, concurrency ${concurrency}, Node ${process.version}`);
  const first = await run(base, auth, () => '/v1/calls?limit=50');
  console.log(summary('first page (limit 50)', first.samples, first.wallMs));
  const deep = await run(base, auth, () => `/v1/calls?limit=50&cursor=${cursor}`);
  console.log(summary('deep page (cursor)', deep.samples, deep.wallMs));
  const filtered = await run(base, auth, () => `/v1/calls?limit=50&agentId=${agent.id}&outcome=completed&from=${encodeURIComponent(from)}`);
  console.log(summary('filtered page', filtered.samples, filtered.wallMs));
  const me = await run(base, auth, () => '/v1/me');
  console.log(summary('GET /v1/me (auth only)', me.samples, me.wallMs));
} finally {
  await app.close();
  await drop();
}
