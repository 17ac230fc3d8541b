/**
 * POST /v1/recordings/:recordingId/link as a control-plane route: user
 * sessions mint as API keys do (owner, admin, manager), a viewer is refused
 * and the refusal is in the tenant's audit log; the minting is audited with
 * the link's fingerprint and expiry; the link expires when it says; another
 * tenant's recording is a 404; the route is in the OpenAPI document; and its
 * rate limit, counted in Postgres, holds across two nodes on one database.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { randomUUID } from 'node:crypto';
import { listAudit } from '../../../storage/index.ts';
import { MemoryObjectStore, verifyRecordingLink } from '../../../storage/vault/index.ts';
import { postgresRateLimitStore } from '../../../src/cluster/rate-limit-store.ts';
import { linkActor } from '../../../src/recordings/index.ts';
import { recordingLinkRoutes } from '../../../src/api/routes/recording-links.ts';
import type { ApiRoute } from '../../../src/api/index.ts';
import { apiHarness } from '../../support/api.ts';
import { backends } from '../../support/databases.ts';
import { seedResources } from '../../support/resources.ts';

const sigOf = (path: string): string => new URL(path, 'http://x.invalid').searchParams.get('sig')!;

for (const backend of await backends()) {
  test(`[${backend.name}] sessions mint links by role; a viewer's refusal and every minting are audited; links expire when they say`, async () => {
    try {
      const h = await apiHarness(await backend.open());
      try {
        const store = new MemoryObjectStore();
        const a = await seedResources(h.db, store, await h.tenant('A'), '3001');
        const b = await seedResources(h.db, store, await h.tenant('B'), '3002');
        const secret = h.deps.services.recordingLinkSecret!;
        const mint = (auth: string, recordingId: string, payload?: object) => h.app.inject({
          method: 'POST', url: `/v1/recordings/${recordingId}/link`, headers: { authorization: auth }, ...(payload ? { payload } : {}),
        });

        for (const role of ['owner', 'admin', 'manager'] as const) {
          const user = await h.user(a.tenantId, role);
          const { auth } = await h.login(user.email);
          const res = await mint(auth, a.recordingId, { ttl: '10m' });
          assert.is(res.statusCode, 201, `${role}: ${res.body}`);
          assert.is(res.headers['cache-control'], 'no-store');
          const link = res.json() as { recordingId: string; path: string; url: string; expiresAt: string };
          assert.is(link.recordingId, a.recordingId);
          assert.ok(link.path.startsWith(`/v1/recordings/${a.tenantId}/${a.recordingId}?exp=`));
          // Expiry: ten minutes from the server's clock (whole seconds), valid before it and refused after.
          const expiresAt = Date.parse(link.expiresAt);
          assert.is(expiresAt, Math.floor((h.clock().getTime() + 600_000) / 1000) * 1000);
          assert.ok(verifyRecordingLink(link.path, secret, { now: expiresAt - 1000 }).ok);
          assert.equal(verifyRecordingLink(link.path, secret, { now: expiresAt }), { ok: false, reason: 'expired' });
          const created = (await listAudit(h.db, a.tenantId)).find((e) => e.action === 'recording.link.created' && e.actor === `user:${user.id}`);
          assert.ok(created, `${role}'s minting is audited`);
          assert.is(created!.target, a.recordingId);
          assert.is(created!.sourceIp, '127.0.0.1');
          assert.equal(created!.detail, { link: linkActor(sigOf(link.path)), expiresAt: link.expiresAt });
          assert.not.match(JSON.stringify(created), sigOf(link.path).slice(0, 20), 'the signature itself is never stored');
        }

        const viewer = await h.user(a.tenantId, 'viewer');
        const { auth: viewerAuth } = await h.login(viewer.email);
        const refused = await mint(viewerAuth, a.recordingId);
        assert.is(refused.statusCode, 403, refused.body);
        assert.match(String(refused.headers['content-type']), /^application\/problem\+json/);
        const refusal = (await listAudit(h.db, a.tenantId)).find((e) => e.action === 'recording.link.refused' && e.actor === `user:${viewer.id}`);
        assert.ok(refusal, 'the viewer\'s refusal is audited');
        assert.is(refusal!.target, a.recordingId);
        assert.equal(refusal!.detail, { reason: 'role', role: 'viewer' });
        assert.not.ok((await listAudit(h.db, a.tenantId)).some((e) => e.action === 'recording.link.created' && e.actor === `user:${viewer.id}`));

        // Another tenant's recording: 404, and B's audit log is untouched.
        const owner = await h.bearer(a.tenantId, 'owner');
        const bAudit = (await listAudit(h.db, b.tenantId)).length;
        assert.is((await mint(owner, b.recordingId)).statusCode, 404);
        assert.is((await mint(owner, randomUUID())).statusCode, 404);
        assert.is((await listAudit(h.db, b.tenantId)).length, bAudit, 'B\'s audit log is untouched');
        const notFound = (await listAudit(h.db, a.tenantId)).filter((e) => e.action === 'recording.link.refused' && (e.detail as { reason: string }).reason === 'not-found');
        assert.is(notFound.length, 2, 'both refusals are in the caller\'s own log');
        // No body at all is the default lifetime (15 minutes).
        const plain = await mint(owner, a.recordingId);
        assert.is(plain.statusCode, 201, plain.body);
        assert.is(Date.parse((plain.json() as { expiresAt: string }).expiresAt), Math.floor((h.clock().getTime() + 900_000) / 1000) * 1000);
      } finally {
        await h.close();
      }
    } finally {
      await backend.cleanup();
    }
  });

  test(`[${backend.name}] the route is in the OpenAPI document with its body and response schemas`, async () => {
    try {
      const h = await apiHarness(await backend.open());
      try {
        const doc = (await h.app.inject({ method: 'GET', url: '/v1/openapi.json' })).json() as { paths: Record<string, Record<string, { security?: unknown; requestBody?: unknown; responses: Record<string, unknown>; description?: string }>> };
        const op = doc.paths['/v1/recordings/{recordingId}/link']?.post;
        assert.ok(op, 'POST /v1/recordings/{recordingId}/link is documented');
        assert.ok(op!.security, 'it needs a credential');
        assert.ok(op!.requestBody, 'its body is documented');
        assert.ok(op!.responses['201'], 'its 201 response is documented');
        assert.match(String(op!.description), /recordings:read/);
      } finally {
        await h.close();
      }
    } finally {
      await backend.cleanup();
    }
  });

  test(`[${backend.name}] the minting rate limit is counted before authentication and shared by every node on the database`, async () => {
    try {
      const db = await backend.open();
      // Two API servers on one database stand for two nodes behind a balancer, each with a limit of 3.
      const routes: ApiRoute[] = recordingLinkRoutes.map((r) => ({ ...r, rateLimit: { max: 3, windowMs: 60_000 } }) as ApiRoute);
      const store = postgresRateLimitStore(db, `links-${randomUUID()}`);
      const nodes = [await apiHarness(db, { routes, deps: { rateLimitStore: store } }), await apiHarness(db, { routes, deps: { rateLimitStore: store } })];
      try {
        const tenant = await nodes[0]!.tenant();
        const key = await nodes[0]!.bearer(tenant, 'owner');
        const statuses: number[] = [];
        for (let i = 0; i < 5; i++) {
          const res = await nodes[i % 2]!.app.inject({
            method: 'POST', url: `/v1/recordings/${randomUUID()}/link`, remoteAddress: '198.51.100.9',
            headers: i === 1 ? { authorization: 'Bearer sak_guess' } : { authorization: key },
          });
          statuses.push(res.statusCode);
          if (res.statusCode === 429) {
            assert.match(String(res.headers['content-type']), /^application\/problem\+json/);
            assert.ok(Number(res.headers['retry-after']) >= 1);
          }
        }
        assert.equal(statuses, [404, 401, 404, 429, 429], 'a fourth request from the source is over the limit, whichever node it reaches');
        const other = await nodes[1]!.app.inject({ method: 'POST', url: `/v1/recordings/${randomUUID()}/link`, remoteAddress: '198.51.100.10', headers: { authorization: key } });
        assert.is(other.statusCode, 404, 'another source has its own count');
      } finally {
        for (const node of nodes) await node.close();
      }
    } finally {
      await backend.cleanup();
    }
  });
}

test.run();
