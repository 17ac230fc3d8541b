/**
 * The HTTP face: liveness, readiness, Prometheus metrics, and the API routes
 * other modules register. Readiness asks each registered check (database,
 * listeners) and answers 503 naming what is not ready.
 *
 * With a certificate it serves HTTPS only (TLS 1.2 minimum; Node negotiates
 * 1.3 first). Every answer carries the usual security headers (@fastify/helmet)
 * and HSTS; nothing here is meant to be framed or run as a page.
 */
import helmet from '@fastify/helmet';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import type { Logger } from '../log.ts';

export type ReadinessCheck = () => Promise<boolean> | boolean;

export interface HttpServerOptions {
  logger: Logger;
  metrics: Registry;
  readiness: Record<string, ReadinessCheck>;
  /** A check that has not answered within this is failing (a hung database must not hang /readyz). Default 2000. */
  readinessTimeoutMs?: number;
  /** PEM certificate chain and key: serve HTTPS. */
  tls?: { cert: string | Buffer; key: string | Buffer };
}

/** HSTS: one year, subdomains included (a browser then never tries plain HTTP). */
export const HSTS_MAX_AGE_S = 365 * 24 * 3600;

/** Runs one readiness check: a throw, a false or no answer in time all count as not ready. */
async function passes(check: ReadinessCheck, timeoutMs: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<boolean>((resolve) => { timer = setTimeout(() => resolve(false), timeoutMs); });
  try {
    return await Promise.race([Promise.resolve().then(check).then((ok) => ok === true, () => false), late]);
  } finally {
    clearTimeout(timer);
  }
}

export function createHttpServer(options: HttpServerOptions): FastifyInstance {
  const app = Fastify({
    loggerInstance: options.logger.child({ component: 'http' }) as unknown as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: 1 << 20,
    ...(options.tls ? { https: { cert: options.tls.cert, key: options.tls.key, minVersion: 'TLSv1.2' as const } } : {}),
  }) as unknown as FastifyInstance;
  void app.register(helmet, {
    hsts: { maxAge: HSTS_MAX_AGE_S, includeSubDomains: true },
    contentSecurityPolicy: { useDefaults: false, directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] } },
    crossOriginResourcePolicy: { policy: 'same-origin' },
  });

  app.get('/healthz', async () => ({ status: 'ok' }));

  app.get('/readyz', async (_request, reply) => {
    const timeoutMs = options.readinessTimeoutMs ?? 2000;
    const entries = await Promise.all(Object.entries(options.readiness).map(async ([name, check]) => [name, await passes(check, timeoutMs)] as const));
    const checks = Object.fromEntries(entries);
    const failing = entries.filter(([, ok]) => !ok).map(([name]) => name);
    const ready = failing.length === 0;
    return reply.code(ready ? 200 : 503).send(ready ? { status: 'ready', checks } : { status: 'not ready', checks, failing });
  });

  app.get('/metrics', async (_request, reply) => {
    reply.header('content-type', options.metrics.contentType);
    return options.metrics.metrics();
  });

  return app;
}
