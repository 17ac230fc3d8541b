/**
 * Liveness and readiness: /healthz answers 200 JSON while the process runs;
 * /readyz answers 200 with its checks while the database is reachable and 503
 * naming the failing check once it is not (closed, throwing or hung).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Registry } from 'prom-client';
import { createHttpServer } from '../../../src/http/server.ts';
import { createLogger } from '../../../src/log.ts';
import { backends } from '../../support/databases.ts';

const logger = createLogger('silent');

test('/healthz answers 200 JSON over real HTTP', async () => {
  const app = createHttpServer({ logger, metrics: new Registry(), readiness: {} });
  try {
    await app.listen({ host: '127.0.0.1', port: 0 });
    const address = app.server.address();
    assert.ok(address && typeof address === 'object' && address.port > 0);
    const response = await fetch(`http://127.0.0.1:${address.port}/healthz`, { signal: AbortSignal.timeout(5000) });
    assert.is(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /^application\/json/);
    assert.equal(await response.json(), { status: 'ok' });
  } finally {
    await app.close();
  }
});

for (const backend of await backends()) {
  test(`[${backend.name}] /readyz is 200 while the database answers and 503 naming it once closed`, async () => {
    try {
      const db = await backend.open();
      const app = createHttpServer({ logger, metrics: new Registry(), readiness: { database: () => db.ping(), listeners: () => true } });
      try {
        const ready = await app.inject({ method: 'GET', url: '/readyz' });
        assert.is(ready.statusCode, 200);
        assert.match(String(ready.headers['content-type']), /^application\/json/);
        assert.equal(ready.json(), { status: 'ready', checks: { database: true, listeners: true } });
        await db.close();
        const down = await app.inject({ method: 'GET', url: '/readyz' });
        assert.is(down.statusCode, 503);
        assert.match(String(down.headers['content-type']), /^application\/json/);
        assert.equal(down.json(), { status: 'not ready', checks: { database: false, listeners: true }, failing: ['database'] });
        // liveness does not depend on the database
        assert.is((await app.inject({ method: 'GET', url: '/healthz' })).statusCode, 200);
      } finally {
        await app.close();
      }
    } finally {
      await backend.cleanup();
    }
  });
}

test('/readyz counts a throwing or unanswered check as failing', async () => {
  let release: (() => void) | undefined;
  const app = createHttpServer({
    logger,
    metrics: new Registry(),
    readinessTimeoutMs: 50,
    readiness: {
      database: () => true,
      sip: () => { throw new Error('not bound'); },
      storage: () => new Promise<boolean>((resolve) => { release = () => resolve(true); }),
    },
  });
  try {
    const response = await app.inject({ method: 'GET', url: '/readyz' });
    assert.is(response.statusCode, 503);
    assert.equal(response.json(), { status: 'not ready', checks: { database: true, sip: false, storage: false }, failing: ['sip', 'storage'] });
  } finally {
    release?.();
    await app.close();
  }
});

test('/metrics answers Prometheus text', async () => {
  const metrics = new Registry();
  metrics.setDefaultLabels({ service: 'test' });
  const app = createHttpServer({ logger, metrics, readiness: {} });
  try {
    const { Counter } = await import('prom-client');
    new Counter({ name: 'smartalex_test_total', help: 'a test counter', registers: [metrics] }).inc(3);
    const response = await app.inject({ method: 'GET', url: '/metrics' });
    assert.is(response.statusCode, 200);
    assert.match(String(response.headers['content-type']), /^text\/plain/);
    assert.match(response.body, /smartalex_test_total\{service="test"\} 3/);
  } finally {
    await app.close();
  }
});

test.run();
