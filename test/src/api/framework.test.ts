/**
 * The /v1 framework: problem+json errors (400 with field paths, unknown fields,
 * 413, 401, 403, 404, bare 500), registration refusing routes without a
 * permission or strict schemas, and cursor pagination.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { z } from 'zod';
import Fastify from 'fastify';
import { decodeCursor, defineRoute, encodeCursor, pageOf, registerControlPlane, RouteRegistrationError, type ApiRoute } from '../../../src/api/index.ts';
import { DEFAULT_SETTINGS, manualClock } from '../../../src/api/index.ts';
import { createLogger } from '../../../src/log.ts';
import { apiHarness } from '../../support/api.ts';
import { backends } from '../../support/databases.ts';

const echo = defineRoute({
  method: 'POST', url: '/test/echo/:thingId', tag: 'test', summary: 'echo', permission: 'agents:write',
  params: z.strictObject({ thingId: z.uuid() }),
  body: z.strictObject({ name: z.string().min(1).max(20), count: z.number().int().min(0) }),
  response: z.object({ thingId: z.string(), name: z.string(), count: z.number() }),
  handler: async ({ params, body }) => ({ thingId: params.thingId, ...body }),
});
const boom = defineRoute({
  method: 'GET', url: '/test/boom', tag: 'test', summary: 'fails', permission: 'calls:read', response: z.object({}),
  handler: async () => { throw Object.assign(new Error('duplicate key value: Key (email)=(alice@example.com)'), { detail: 'alice@example.com' }); },
});
const routes: ApiRoute[] = [echo, boom];
const ID = '6f1f0c9e-4a0f-4c55-9d3a-0c1c7f6f5e10';

for (const backend of await backends()) {
  test(`[${backend.name}] errors are problem+json: 400 names fields, unknown fields refused, 413, 401, 403, 404, bare 500`, async () => {
    try {
      const h = await apiHarness(await backend.open(), { routes });
      try {
        const tenant = await h.tenant();
        const manager = await h.bearer(tenant, 'manager');
        const viewer = await h.bearer(tenant, 'viewer');
        const ok = await h.app.inject({ method: 'POST', url: `/v1/test/echo/${ID}`, headers: { authorization: manager }, payload: { name: 'a', count: 1 } });
        assert.is(ok.statusCode, 200, ok.body);
        assert.equal(ok.json(), { thingId: ID, name: 'a', count: 1 });

        const bad = await h.app.inject({ method: 'POST', url: `/v1/test/echo/${ID}`, headers: { authorization: manager }, payload: { name: '', count: 'x' } });
        assert.is(bad.statusCode, 400);
        assert.match(String(bad.headers['content-type']), /^application\/problem\+json/);
        const doc = bad.json() as { status: number; errors: { path: string }[] };
        assert.is(doc.status, 400);
        assert.equal(doc.errors.map((e) => e.path).sort(), ['body.count', 'body.name']);

        const extra = await h.app.inject({ method: 'POST', url: `/v1/test/echo/${ID}`, headers: { authorization: manager }, payload: { name: 'a', count: 1, tenantId: ID } });
        assert.is(extra.statusCode, 400);
        const badId = await h.app.inject({ method: 'POST', url: '/v1/test/echo/not-a-uuid', headers: { authorization: manager }, payload: { name: 'a', count: 1 } });
        assert.is(badId.statusCode, 400);
        assert.is((badId.json() as { errors: { path: string }[] }).errors[0]!.path, 'path.thingId');

        const big = await h.app.inject({ method: 'POST', url: `/v1/test/echo/${ID}`, headers: { authorization: manager, 'content-type': 'application/json' }, payload: JSON.stringify({ name: 'a'.repeat(100_000), count: 1 }) });
        assert.is(big.statusCode, 413);
        assert.match(String(big.headers['content-type']), /^application\/problem\+json/);

        const malformed = await h.app.inject({ method: 'POST', url: `/v1/test/echo/${ID}`, headers: { authorization: manager, 'content-type': 'application/json' }, payload: '{"name":' });
        assert.is(malformed.statusCode, 400);

        const anonymous = await h.app.inject({ method: 'POST', url: `/v1/test/echo/${ID}`, payload: { name: 'a', count: 1 } });
        assert.is(anonymous.statusCode, 401);
        assert.is(anonymous.headers['www-authenticate'], 'Bearer');
        const wrongKey = await h.app.inject({ method: 'GET', url: '/v1/test/boom', headers: { authorization: 'Bearer sak_AAAAAAAA_' + 'A'.repeat(43) } });
        assert.is(wrongKey.statusCode, 401);

        const denied = await h.app.inject({ method: 'POST', url: `/v1/test/echo/${ID}`, headers: { authorization: viewer }, payload: { name: 'a', count: 1 } });
        assert.is(denied.statusCode, 403);
        assert.match(String(denied.headers['content-type']), /^application\/problem\+json/);

        const missing = await h.app.inject({ method: 'GET', url: '/v1/nothing-here', headers: { authorization: manager } });
        assert.is(missing.statusCode, 404);
        assert.match(String(missing.headers['content-type']), /^application\/problem\+json/);

        const failed = await h.app.inject({ method: 'GET', url: '/v1/test/boom', headers: { authorization: viewer } });
        assert.is(failed.statusCode, 500);
        assert.equal(failed.json(), { type: 'https://smartalex.dev/problems/internal', title: 'Internal error', status: 500 });
        assert.not.match(failed.body, /alice|stack|duplicate/);
      } finally {
        await h.close();
      }
    } finally {
      await backend.cleanup();
    }
  });
}

test('registration refuses a route without a known permission, with a loose body schema or without a params schema', async () => {
  const deps = { db: {} as never, logger: createLogger('silent'), clock: manualClock(), settings: DEFAULT_SETTINGS, sessionSecret: Buffer.alloc(32), services: {} };
  const noPermission = { ...echo, permission: undefined } as unknown as ApiRoute;
  const loose = defineRoute({ ...(echo as never as object), body: z.object({ name: z.string() }) } as never);
  const unknownPermission = { ...echo, permission: 'everything' } as unknown as ApiRoute;
  const noParams = defineRoute({ method: 'GET', url: '/x/:id', tag: 't', summary: 's', permission: 'calls:read', response: z.object({}), handler: async () => ({}) });
  for (const bad of [noPermission, loose, unknownPermission, noParams]) {
    const app = Fastify();
    try {
      await registerControlPlane(app, deps, [bad]);
      assert.unreachable('registered a defective route');
    } catch (error) {
      assert.instance(error, RouteRegistrationError);
    } finally {
      await app.close();
    }
  }
});

test('cursors are opaque round trips; a forged one is a 400', () => {
  const at = new Date('2026-05-01T10:00:00Z');
  const cursor = encodeCursor(at, 'abc');
  assert.equal(decodeCursor(cursor), { key: at.toISOString(), id: 'abc' });
  assert.equal(decodeCursor(encodeCursor(7, 9)), { key: 7, id: 9 });
  assert.is(decodeCursor(undefined), undefined);
  assert.throws(() => decodeCursor('bm90LWpzb24'), (e: Error) => (e as { status?: number }).status === 400);
  const page = pageOf([1, 2, 3], 2, (n) => [n, n]);
  assert.equal(page.items, [1, 2]);
  assert.ok(page.nextCursor);
  assert.is(pageOf([1, 2], 2, (n) => [n, n]).nextCursor, null);
});

test.run();
