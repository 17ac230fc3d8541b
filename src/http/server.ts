/**
 * The HTTP face: liveness, readiness, Prometheus metrics, and the API routes
 * other modules register. Readiness asks each registered check (database,
 * listeners) and answers 503 naming what is not ready.
 */
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import type { Logger } from '../log.ts';

export type ReadinessCheck = () => Promise<boolean> | boolean;

export interface HttpServerOptions {
  logger: Logger;
  metrics: Registry;
  readiness: Record<string, ReadinessCheck>;
}

export function createHttpServer(options: HttpServerOptions): FastifyInstance {
  const app = Fastify({
    loggerInstance: options.logger.child({ component: 'http' }) as unknown as FastifyBaseLogger,
    disableRequestLogging: true,
    bodyLimit: 1 << 20,
  });

  app.get('/healthz', async () => ({ status: 'ok' }));

  app.get('/readyz', async (_request, reply) => {
    const checks: Record<string, boolean> = {};
    for (const [name, check] of Object.entries(options.readiness)) {
      try {
        checks[name] = await check();
      } catch {
        checks[name] = false;
      }
    }
    const ready = Object.values(checks).every(Boolean);
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not ready', checks });
  });

  app.get('/metrics', async (_request, reply) => {
    reply.header('content-type', options.metrics.contentType);
    return options.metrics.metrics();
  });

  return app;
}
