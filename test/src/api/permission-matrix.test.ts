/**
 * Every /v1 route x every role against the one matrix (src/api/permissions.ts):
 * a role the matrix denies gets 403, a role it allows never gets 401/403, and
 * no credential gets 401 (public routes aside). 'self' routes are walked with
 * each role's own session. The matrix itself matches the seeds' roles, and the
 * OpenAPI document describes every route from its schemas.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { randomUUID } from 'node:crypto';
import type { Role } from '../../../storage/index.ts';
import { ALL_ROUTES, MATRIX, PERMISSIONS, ROLES, allows, type ApiRoute } from '../../../src/api/index.ts';
import { pathParams } from '../../../src/api/route.ts';
import { apiHarness } from '../../support/api.ts';
import { backends } from '../../support/databases.ts';

const urlOf = (route: ApiRoute): string => `/v1${route.url.replace(/:([A-Za-z0-9_]+)/g, () => randomUUID())}`;
const hasBody = (route: ApiRoute): boolean => ['POST', 'PUT', 'PATCH'].includes(route.method);

test('the matrix is the seeds\' roles: owner everything, admin all but billing, manager agents/campaigns/contacts, viewer read-only', () => {
  assert.equal([...MATRIX.owner].sort(), [...PERMISSIONS].sort());
  assert.equal([...MATRIX.admin].sort(), PERMISSIONS.filter((p) => p !== 'billing:manage' && p !== 'account:delete').sort(), 'admin: all but billing and erasing the account');
  for (const p of ['agents:write', 'campaigns:write', 'contacts:write'] as const) assert.ok(MATRIX.manager.has(p), p);
  for (const p of ['users:manage', 'apikeys:manage', 'billing:manage', 'tenant:write', 'audit:read', 'webhooks:manage', 'data:erase', 'account:delete'] as const) assert.not.ok(MATRIX.manager.has(p), p);
  assert.ok([...MATRIX.viewer].every((p) => p.endsWith(':read')), 'viewer is read-only');
  assert.ok(MATRIX.viewer.has('analytics:read') && MATRIX.viewer.has('calls:read'));
  assert.not.ok(MATRIX.viewer.has('users:read') || MATRIX.viewer.has('contacts:read'));
});

test('every route declares a permission the matrix knows', () => {
  assert.ok(ALL_ROUTES.length > 10);
  for (const route of ALL_ROUTES) assert.ok(['public', 'self', ...PERMISSIONS].includes(route.permission), `${route.method} ${route.url}`);
});

for (const backend of await backends()) {
  test(`[${backend.name}] every route x role answers as the matrix says; no credential is a 401`, async () => {
    try {
      const h = await apiHarness(await backend.open());
      try {
        const tenant = await h.tenant();
        const keys = Object.fromEntries(await Promise.all(ROLES.map(async (role) => [role, await h.bearer(tenant, role)] as const))) as unknown as Record<Role, string>;
        const users = Object.fromEntries(await Promise.all(ROLES.map(async (role) => [role, await h.user(tenant, role)] as const))) as unknown as Record<Role, { email: string }>;
        let checked = 0;
        for (const route of ALL_ROUTES) {
          const name = `${route.method} ${route.url}`;
          const request = (authorization?: string) => h.app.inject({
            method: route.method, url: urlOf(route), headers: authorization ? { authorization } : {}, ...(hasBody(route) ? { payload: {} } : {}),
          });
          if (route.permission === 'public') {
            const res = await request();
            assert.ok(![401, 403, 500].includes(res.statusCode), `${name} without a credential: ${res.statusCode}`);
            continue;
          }
          assert.is((await request()).statusCode, 401, `${name} without a credential`);
          for (const role of ROLES) {
            const auth = route.permission === 'self' ? (await h.login(users[role].email)).auth : keys[role];
            const res = await request(auth);
            const expected = allows(role, route.permission);
            if (expected) assert.ok(![401, 403, 500].includes(res.statusCode), `${name} as ${role}: allowed by the matrix, got ${res.statusCode} ${res.body}`);
            else {
              assert.is(res.statusCode, 403, `${name} as ${role}: denied by the matrix`);
              assert.match(String(res.headers['content-type']), /problem\+json/);
            }
            checked++;
          }
        }
        assert.ok(checked >= ALL_ROUTES.length * 3);
      } finally {
        await h.close();
      }
    } finally {
      await backend.cleanup();
    }
  });

  test(`[${backend.name}] /v1/openapi.json is OpenAPI 3.1 generated from the schemas of every route`, async () => {
    try {
      const h = await apiHarness(await backend.open());
      try {
        const res = await h.app.inject({ method: 'GET', url: '/v1/openapi.json' });
        assert.is(res.statusCode, 200);
        const doc = res.json() as { openapi: string; paths: Record<string, Record<string, {
          responses?: Record<string, { content?: Record<string, { schema?: unknown }> }>; requestBody?: { content?: Record<string, unknown> };
          parameters?: { in: string; name: string }[]; security?: unknown[]; description?: string;
        }>> };
        assert.is(doc.openapi, '3.1.0');
        assert.not.ok(doc.paths['/v1/openapi.json'], 'the document does not list itself');
        for (const route of ALL_ROUTES) {
          const path = `/v1${route.url.replace(/:([A-Za-z0-9_]+)/g, '{$1}')}`;
          const op = doc.paths[path]?.[route.method.toLowerCase()];
          assert.ok(op, `${route.method} ${path} is documented`);
          const status = String(route.status ?? 200);
          assert.ok(op.responses?.[status], `${route.method} ${path} documents its ${status}`);
          if (status !== '204') assert.ok(op.responses[status]!.content?.['application/json']?.schema, `${route.method} ${path} has a response schema`);
          assert.ok(op.responses?.['400'] && op.responses['403'], `${route.method} ${path} documents its problems`);
          for (const param of pathParams(route.url)) assert.ok(op.parameters?.some((p) => p.in === 'path' && p.name === param), `${path} documents :${param}`);
          if (hasBody(route)) assert.ok(op.requestBody?.content?.['application/json'], `${route.method} ${path} documents its body`);
          if (route.permission !== 'public') {
            assert.ok(op.security?.length, `${route.method} ${path} says it needs a credential`);
            assert.ok(op.description?.includes(route.permission), `${route.method} ${path} names its permission`);
          }
        }
      } finally {
        await h.close();
      }
    } finally {
      await backend.cleanup();
    }
  });
}

test.run();
