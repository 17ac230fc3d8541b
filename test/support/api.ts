/**
 * A control-plane test harness: the real HTTP server (src/http/server.ts) with
 * /v1 mounted on a migrated test database, a manual clock, and helpers that
 * make tenants and credentials. Requests go through app.inject (no socket).
 */
import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { Registry } from 'prom-client';
import { createTenant, issueApiKey, PostgresTenantKeyStore, type Database, type Role } from '../../storage/index.ts';
import { KeyRing, LocalMasterKey } from '../../storage/vault/index.ts';
import { createUserWithSetup } from '../../src/api/auth/accounts.ts';
import { DEFAULT_SETTINGS, manualClock, registerControlPlane, type ApiRoute, type ControlPlaneDeps, type ControlPlaneSettings } from '../../src/api/index.ts';
import { createHttpServer } from '../../src/http/server.ts';
import { createLogger } from '../../src/log.ts';

/** A password the policy accepts. */
export const PASSWORD = 'Correct-Horse-7-Battery';

export interface ApiHarness {
  app: FastifyInstance;
  db: Database;
  deps: ControlPlaneDeps;
  clock: ReturnType<typeof manualClock>;
  /** A fresh tenant's id. */
  tenant(name?: string): Promise<string>;
  /** `Authorization` header value for a new API key of `role` in `tenantId`. */
  bearer(tenantId: string, role: Role): Promise<string>;
  /** A user with a password (default PASSWORD) in `tenantId`. */
  user(tenantId: string, role: Role, email?: string, password?: string): Promise<{ id: string; email: string; password: string }>;
  /** Logs in over /v1/auth/login; the session's `Authorization` header value and the response body. */
  login(email: string, password?: string, extra?: Record<string, unknown>, headers?: Record<string, string>): Promise<{ auth: string; body: Record<string, unknown> }>;
  close(): Promise<void>;
}

export interface ApiHarnessOptions {
  routes?: readonly ApiRoute[];
  settings?: Partial<ControlPlaneSettings>;
  services?: ControlPlaneDeps['services'];
  /** Extra deps (rate-limit store, security log). */
  deps?: Pick<ControlPlaneDeps, 'rateLimitStore' | 'securityLog'>;
}

export async function apiHarness(db: Database, options: ApiHarnessOptions = {}): Promise<ApiHarness> {
  const logger = createLogger('silent');
  const clock = manualClock(new Date());
  const app = createHttpServer({ logger, metrics: new Registry(), readiness: {} });
  const deps: ControlPlaneDeps = {
    db, logger, clock, settings: { ...DEFAULT_SETTINGS, ...options.settings }, sessionSecret: randomBytes(32),
    services: options.services ?? { keyRing: new KeyRing({ master: LocalMasterKey.generate(), store: new PostgresTenantKeyStore(db) }), recordingLinkSecret: randomBytes(32) },
    ...options.deps,
  };
  await registerControlPlane(app, deps, options.routes);
  await app.ready();
  return {
    app, db, deps, clock,
    tenant: async (name = 'Tenant') => (await createTenant(db, { name })).id,
    bearer: async (tenantId, role) => `Bearer ${(await issueApiKey(db, tenantId, { name: `test-${role}-${randomBytes(3).toString('hex')}`, role })).key}`,
    user: async (tenantId, role, email = `${role}-${randomBytes(4).toString('hex')}@example.com`, password = PASSWORD) => {
      const { user } = await createUserWithSetup(db, tenantId, { email, role, password, actor: 'test', now: clock(), ttlMs: 3600_000 });
      return { id: user.id, email: user.email, password };
    },
    login: async (email, password = PASSWORD, extra = {}, headers = {}) => {
      const res = await app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email, password, ...extra }, headers });
      if (res.statusCode !== 200) throw new Error(`login failed: ${res.statusCode} ${res.body}`);
      const body = res.json() as Record<string, unknown>;
      return { auth: `Bearer ${String(body.token)}`, body };
    },
    close: () => app.close(),
  };
}
