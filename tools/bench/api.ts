/**
 * The cost of an authenticated /v1 request, bench style (not a test):
 *   npx tsx tools/bench/api.ts [--path /v1/calls?limit=50] [--requests 2000] [--concurrency 1]
 *                                [--auth session|apikey] [--seed 500] [--tls]
 * Starts the real HTTP server with /v1 mounted on a fresh embedded database
 * (PGlite, in memory, so runs are comparable), seeds one tenant with `--seed` users
 * and calls, authenticates as an owner, warms up, then sends `--requests` GETs
 * over keep-alive HTTP(S) from `--concurrency` clients and prints p50 / p99 /
 * mean latency and requests per second. Default path: /v1/calls?limit=50 when
 * that route exists, else /v1/users?limit=50.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { Agent, request as httpsRequest } from 'node:https';
import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Registry } from 'prom-client';
import { createTenant, issueApiKey, migrate, openDatabase, schema, withTenant } from '../../storage/index.ts';
import { KeyRing, LocalMasterKey } from '../../storage/vault/index.ts';
import { PostgresTenantKeyStore } from '../../storage/index.ts';
import { ALL_ROUTES, DEFAULT_SETTINGS, registerControlPlane, systemClock } from '../../src/api/index.ts';
import { createUserWithSetup } from '../../src/api/auth/accounts.ts';
import { createHttpServer } from '../../src/http/server.ts';
import { createLogger } from '../../src/log.ts';

const { values: args } = parseArgs({
  options: {
    path: { type: 'string' }, requests: { type: 'string', default: '2000' }, concurrency: { type: 'string', default: '1' },
    auth: { type: 'string', default: 'session' }, seed: { type: 'string', default: '500' }, tls: { type: 'boolean', default: false },
  },
});
const requests = Number(args.requests);
const concurrency = Number(args.concurrency);
const seed = Number(args.seed);
const hasCalls = ALL_ROUTES.some((r) => r.method === 'GET' && r.url === '/calls');
const path = args.path ?? (hasCalls ? '/v1/calls?limit=50' : '/v1/users?limit=50');

const PASSWORD = 'Bench-Mark-2026!';
const db = await openDatabase({ dataDir: '', inMemory: true, appRole: 'smartalex_app' });
await migrate(db);
const tenant = await createTenant(db, { name: 'Bench' });
const owner = await createUserWithSetup(db, tenant.id, { email: 'owner@bench.example', role: 'owner', password: PASSWORD, actor: 'bench', now: new Date(), ttlMs: 3600_000 });
void owner;
await withTenant(db, tenant.id, async (tx) => {
  await tx.insert(schema.users).values(Array.from({ length: seed }, (_, i) => ({ tenantId: tenant.id, email: `user${i}@bench.example`, role: 'viewer' as const })));
  const [agent] = await tx.insert(schema.agents).values({ tenantId: tenant.id, name: 'bench' }).returning();
  const start = Date.now() - seed * 60_000;
  await tx.insert(schema.calls).values(Array.from({ length: seed }, (_, i) => ({
    tenantId: tenant.id, agentId: agent!.id, direction: 'inbound' as const, fromUri: 'sip:caller@bench', toUri: 'sip:100@bench', sipCallId: randomUUID(),
    state: 'ended', startedAt: new Date(start + i * 60_000), endedAt: new Date(start + i * 60_000 + 30_000), latency: { turns: 3, e2eMsP50: 700 },
  })));
});

let tlsDir: string | undefined;
let tls: { cert: string; key: string } | undefined;
if (args.tls) {
  tlsDir = mkdtempSync(join(tmpdir(), 'smartalex-bench-api-'));
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', '/CN=localhost',
    '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', join(tlsDir, 'key.pem'), '-out', join(tlsDir, 'cert.pem')], { stdio: 'ignore' });
  tls = { cert: readFileSync(join(tlsDir, 'cert.pem'), 'utf8'), key: readFileSync(join(tlsDir, 'key.pem'), 'utf8') };
}

const logger = createLogger('silent');
const app = createHttpServer({ logger, metrics: new Registry(), readiness: {}, ...(tls ? { tls } : {}) });
await registerControlPlane(app, {
  db, logger, clock: systemClock, settings: DEFAULT_SETTINGS, sessionSecret: randomBytes(32),
  services: { keyRing: new KeyRing({ master: LocalMasterKey.generate(), store: new PostgresTenantKeyStore(db) }) },
});
await app.listen({ host: '127.0.0.1', port: 0 });
const port = (app.server.address() as { port: number }).port;
const agent = tls ? new Agent({ keepAlive: true, ca: tls.cert, maxSockets: concurrency }) : new HttpAgent({ keepAlive: true, maxSockets: concurrency });

function call(method: string, url: string, headers: Record<string, string>, body?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const send = tls ? httpsRequest : httpRequest;
    const req = send({ host: '127.0.0.1', port, path: url, method, agent, headers: { ...headers, ...(body ? { 'content-type': 'application/json' } : {}) } }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => { text += c.toString(); });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

let authorization: string;
if (args.auth === 'apikey') {
  authorization = `Bearer ${(await issueApiKey(db, tenant.id, { name: 'bench', role: 'owner' })).key}`;
} else {
  const login = await call('POST', '/v1/auth/login', {}, JSON.stringify({ email: 'owner@bench.example', password: PASSWORD }));
  if (login.status !== 200) throw new Error(`login failed: ${login.status} ${login.body}`);
  authorization = `Bearer ${(JSON.parse(login.body) as { token: string }).token}`;
}

const probe = await call('GET', path, { authorization });
if (probe.status !== 200) throw new Error(`GET ${path} answered ${probe.status}: ${probe.body.slice(0, 300)}`);
const items = (JSON.parse(probe.body) as { items?: unknown[] }).items?.length;
for (let i = 0; i < Math.min(200, requests); i++) await call('GET', path, { authorization }); // warm-up

const latencies: number[] = [];
let next = 0;
const started = performance.now();
await Promise.all(Array.from({ length: concurrency }, async () => {
  while (next < requests) {
    next++;
    const t0 = performance.now();
    const res = await call('GET', path, { authorization });
    latencies.push(performance.now() - t0);
    if (res.status !== 200) throw new Error(`GET ${path} answered ${res.status}`);
  }
}));
const wall = performance.now() - started;
latencies.sort((a, b) => a - b);
const pct = (p: number): number => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))]!;
const mean = latencies.reduce((a, b) => a + b, 0) / latencies.length;
console.log(`GET ${path} (${items ?? '?'} items/page, auth ${args.auth}, ${tls ? 'HTTPS' : 'HTTP'}, embedded PGlite, ${concurrency} client${concurrency > 1 ? 's' : ''}, ${requests} requests)`);
console.log(`  p50 ${pct(50).toFixed(2)} ms   p99 ${pct(99).toFixed(2)} ms   mean ${mean.toFixed(2)} ms   max ${latencies.at(-1)!.toFixed(2)} ms   ${(requests / (wall / 1000)).toFixed(0)} req/s`);

agent.destroy();
await app.close();
await db.close();
if (tlsDir) rmSync(tlsDir, { recursive: true, force: true });
