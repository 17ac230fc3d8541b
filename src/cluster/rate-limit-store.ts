/**
 * A @fastify/rate-limit store whose counters live in Postgres (storage/cluster.ts rateLimitHit), so a
 * limit such as the recording link routes' per-source one holds across every node behind the balancer,
 * not per process. Fixed windows; one upsert per request.
 */
import type { FastifyRateLimitStore, FastifyRateLimitStoreCtor, RateLimitOptions } from '@fastify/rate-limit';
import { rateLimitHit, type Database } from '../../storage/index.ts';

export function postgresRateLimitStore(db: Database, prefix: string): FastifyRateLimitStoreCtor {
  class PostgresRateLimitStore implements FastifyRateLimitStore {
    constructor(_options: RateLimitOptions, private readonly scope = prefix) {}

    incr(key: string, callback: (error: Error | null, result?: { current: number; ttl: number }) => void, timeWindow: number): void {
      rateLimitHit(db, `${this.scope}:${key}`, timeWindow).then(
        (r) => callback(null, { current: r.hits, ttl: r.ttlMs }),
        (error: unknown) => callback(error instanceof Error ? error : new Error(String(error))),
      );
    }

    child(routeOptions: { path: string; prefix: string }): FastifyRateLimitStore {
      return new PostgresRateLimitStore({}, `${this.scope}:${routeOptions.prefix}${routeOptions.path}`);
    }
  }
  return PostgresRateLimitStore as unknown as FastifyRateLimitStoreCtor;
}
