/**
 * `smartalex serve`: wires configuration, database, HTTP and (as they land)
 * the SIP listeners and call handling into one process, and shuts them down in
 * reverse order.
 */
import { collectDefaultMetrics, Registry } from 'prom-client';
import type { Database } from '../storage/index.ts';
import type { Config } from './config.ts';
import { openConfiguredDatabase } from './database-setup.ts';
import { createHttpServer, type ReadinessCheck } from './http/server.ts';
import type { Logger } from './log.ts';
import { describeDemo, provisionDemoIfEmpty } from './provision.ts';

export interface RunningServer {
  db: Database;
  httpPort: number;
  metrics: Registry;
  close(): Promise<void>;
}

export async function startServer(config: Config, logger: Logger, output: { write(text: string): void; isTTY?: boolean } = process.stdout): Promise<RunningServer> {
  const db = await openConfiguredDatabase(config);
  const closers: (() => Promise<void>)[] = [() => db.close()];
  try {
    if (config.SMARTALEX_DEMO) {
      const demo = await provisionDemoIfEmpty(db, config.SMARTALEX_DATA_DIR);
      if (demo) {
        output.write(describeDemo(demo, config.SMARTALEX_SIP_PORT, Boolean(output.isTTY)) + '\n');
        logger.info({ tenantId: demo.tenantId, number: demo.number }, 'demo tenant provisioned');
      }
    }
    const metrics = new Registry();
    collectDefaultMetrics({ register: metrics });
    const readiness: Record<string, ReadinessCheck> = { database: () => db.ping() };
    const http = createHttpServer({ logger, metrics, readiness });
    await http.listen({ host: config.SMARTALEX_HTTP_HOST, port: config.SMARTALEX_HTTP_PORT });
    closers.unshift(() => http.close());
    const address = http.server.address();
    const httpPort = typeof address === 'object' && address ? address.port : config.SMARTALEX_HTTP_PORT;
    logger.info({ httpPort, database: db.kind }, 'smartalex media server started');
    return {
      db,
      httpPort,
      metrics,
      close: async () => {
        for (const close of closers) await close().catch((error: unknown) => logger.error({ err: error }, 'error while closing'));
      },
    };
  } catch (error) {
    for (const close of closers) await close().catch(() => undefined);
    throw error;
  }
}
