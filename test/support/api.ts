/**
 * A control-plane test harness: the real HTTP server (src/http/server.ts) with
 * /v1 mounted on a migrated test database, a manual clock, and helpers that
 * make tenants and credentials. Requests go through app.inject (no socket).
 */
import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { Registry } from 'prom-client';
import { createTenant, issueApiKey, type Database, type Role } from '../../storage/index.ts';
import { DEFAULT_SETTINGS, manualClock, registerControlPlane, type ApiRoute, type ControlPlaneDeps, type ControlPlaneSettings } from '../../src/api/index.ts';
import { createHttpServer } from '../../src/http/server.ts';
import { createLogger } from '../../src/log.ts';

export interface ApiHarness {
  app: FastifyInstance;
  db: Database;
  deps: ControlPlaneDeps;
  clock: ReturnType<typeof manualClock>;
  /** A fresh tenant's id. */
  tenant(name?: string): Promise<string>;
  /** `Authorization` header value for a new API key of `role` in `tenantId`. */
  bearer(tenantId: string, role: Role): Promise<string>;
  close(): Promise<void>;
}

export async function apiHarness(db: Database, options: { routes?: readonly ApiRoute[]; settings?: Partial<ControlPlaneSettings>; services?: ControlPlaneDeps['services'] } = {}): Promise<ApiHarness> {
  const logger = createLogger('silent');
  const clock = manualClock(new Date());
  const app = createHttpServer({ logger, metrics: new Registry(), readiness: {} });
  const deps: ControlPlaneDeps = {
    db, logger, clock, settings: { ...DEFAULT_SETTINGS, ...options.settings }, sessionSecret: randomBytes(32), services: options.services ?? {},
  };
  await registerControlPlane(app, deps, options.routes);
  await app.ready();
  return {
    app, db, deps, clock,
    tenant: async (name = 'Tenant') => (await createTenant(db, { name })).id,
    bearer: async (tenantId, role) => `Bearer ${(await issueApiKey(db, tenantId, { name: `test-${role}-${randomBytes(3).toString('hex')}`, role })).key}`,
    close: () => app.close(),
  };
}
