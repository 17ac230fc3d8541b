/**
 * `smartalex serve`: wires configuration, database, HTTP and (as they land)
 * the SIP listeners and call handling into one process, and shuts them down in
 * reverse order.
 */
import { collectDefaultMetrics, Registry } from 'prom-client';
import type { Database } from '../storage/index.ts';
import type { Config } from './config.ts';
import { openConfiguredDatabase } from './database-setup.ts';
import { SERVER_OWNER } from './cli/admin-protocol.ts';
import { startAdminServer } from './cli/admin-server.ts';
import { listenConfigError } from './listen-errors.ts';
import { checkStartupPaths, readPemSetting } from './startup-checks.ts';
import { createHttpServer, type ReadinessCheck } from './http/server.ts';
import type { Logger } from './log.ts';
import { describeDemo, provisionDemoIfEmpty } from './provision.ts';
import { registerRecordingRoutes } from './http/recordings.ts';
import { controlPlaneSettings, registerControlPlane, systemClock } from './api/index.ts';
import { openRecordingVault, recordingTaps, RecordingService } from './recordings/index.ts';
import { startRetentionSweeper } from './retention.ts';
import { CallManager, callManagerOptions, registerCallMetrics, type CallManagerOptions } from './calls/index.ts';
import { providerReport } from './agents/startup-report.ts';
import { createConversationRunner } from './agents/runner.ts';
import { cachedTenantKeys, loadTenantProviderKeys } from './agents/tenant-keys.ts';
import { latencyMetrics, type TurnTrace } from '../pipeline/tracing/index.ts';
import { WebhookDeliveryWorker } from './webhooks/index.ts';
import { SileroModel } from '../pipeline/vad/index.ts';
import { SipListenError } from '../media/sip/index.ts';
import { prewarmEspeakWasm } from '../pipeline/offline/index.ts';

export interface RunningServer {
  db: Database;
  httpPort: number;
  metrics: Registry;
  /** SIP calls (inbound and outbound); register runners and taps here. */
  calls: CallManager;
  /** Call recording (both legs, encrypted) and redacted transcripts: see src/recordings/recording-service.ts. */
  recordings: RecordingService;
  /** The bound SIP UDP port (TCP uses the same number when it was free). */
  sipPort: number;
  sipPorts: { udp?: number; tcp?: number; tls?: number };
  /**
   * Every finished turn's latency trace from the built-in conversation runner
   * (the benchmark's raw feed); returns the unsubscribe. A listener that
   * throws is ignored. Nothing arrives when options.calls.runners replaced the runner.
   */
  onTurnTrace(listener: (trace: TurnTrace, callId: string) => void): () => void;
  close(): Promise<void>;
}

/** Programmatic extras for startServer (tests, embedding): call manager overrides such as runners, taps, guard. */
export interface ServerOptions {
  calls?: Partial<Omit<CallManagerOptions, 'db' | 'logger'>>;
}

/** Throws a ConfigError naming the setting when a configured path is unusable (src/startup-checks.ts). */
export async function startServer(config: Config, logger: Logger, output: { write(text: string): void; isTTY?: boolean } = process.stdout, options: ServerOptions = {}): Promise<RunningServer> {
  checkStartupPaths(config);
  const db = await openConfiguredDatabase(config, { owner: SERVER_OWNER });
  const closers: (() => Promise<void>)[] = [() => db.close()];
  try {
    // Provisioned now, announced once the SIP port is bound (it may be ephemeral).
    const demo = config.SMARTALEX_DEMO ? await provisionDemoIfEmpty(db, config.SMARTALEX_DATA_DIR) : undefined;
    const metrics = new Registry();
    collectDefaultMetrics({ register: metrics });
    latencyMetrics(metrics); // smartalex_turn_*_ms histograms, fed by conversations
    const recordingVault = await openRecordingVault(config, db);
    if (db.kind === 'pglite') {
      // This process owns the embedded database: `smartalex` commands run here, sent over the admin socket.
      const admin = await startAdminServer({ config, db, vault: recordingVault, logger: logger.child({ component: 'admin-socket' }) });
      closers.unshift(() => admin.close());
    }
    const recordings = new RecordingService({ db, vault: recordingVault.vault, logger: logger.child({ component: 'recordings' }) });
    closers.unshift(() => recordings.close());
    const retention = startRetentionSweeper({ db, store: recordingVault.store, logger: logger.child({ component: 'retention' }), intervalMinutes: config.SMARTALEX_RETENTION_SWEEP_MINUTES });
    closers.unshift(() => retention.stop());
    // Webhooks: the outbox's delivery worker (src/webhooks/delivery-worker.ts); stopped before the database closes.
    const webhooks = new WebhookDeliveryWorker({
      db, keys: recordingVault.vault.keys, logger: logger.child({ component: 'webhooks' }),
      allowLoopback: config.SMARTALEX_WEBHOOK_ALLOW_LOOPBACK, timeoutMs: config.SMARTALEX_WEBHOOK_TIMEOUT_MS,
    });
    webhooks.start();
    closers.unshift(() => webhooks.stop());
    const calls = await CallManager.start({ ...callManagerOptions(config, db, logger), metrics, ...options.calls }).catch((error: unknown) => {
      if (!(error instanceof SipListenError)) throw error;
      throw listenConfigError(error.cause, error.transport === 'TLS' ? 'SMARTALEX_SIP_TLS_PORT' : 'SMARTALEX_SIP_PORT', 'SMARTALEX_SIP_HOST', error.host, error.port, `SIP ${error.transport}`) ?? error;
    });
    closers.unshift(() => calls.close());
    // Every call whose agent records: both legs into the vault, sealed at hang-up (src/recordings/call-tap.ts).
    calls.addTap(recordingTaps(recordings, logger));
    const sipPorts = calls.sipPorts;
    const readiness: Record<string, ReadinessCheck> = { database: () => db.ping(), sip: () => calls.ready };
    const http = createHttpServer({
      logger, metrics, readiness,
      ...(config.SMARTALEX_HTTP_TLS_CERT && config.SMARTALEX_HTTP_TLS_KEY
        ? { tls: { cert: readPemSetting('SMARTALEX_HTTP_TLS_CERT', config.SMARTALEX_HTTP_TLS_CERT), key: readPemSetting('SMARTALEX_HTTP_TLS_KEY', config.SMARTALEX_HTTP_TLS_KEY) } }
        : {}),
    });
    registerRecordingRoutes(http, {
      db, vault: recordingVault.vault, linkSecret: recordingVault.linkSecret, logger, securityLog: calls.securityLog,
      ...(config.SMARTALEX_PUBLIC_BASE_URL ? { publicBaseUrl: config.SMARTALEX_PUBLIC_BASE_URL } : {}),
    });
    // The control-plane API under /v1 (src/api/README.md).
    await registerControlPlane(http, {
      db, logger: logger.child({ component: 'api' }), clock: systemClock, sessionSecret: recordingVault.sessionSecret,
      settings: controlPlaneSettings(config),
      services: { keyRing: recordingVault.vault.keys, recordingStore: recordingVault.store },
    });
    await http.listen({ host: config.SMARTALEX_HTTP_HOST, port: config.SMARTALEX_HTTP_PORT }).catch((error: unknown) => {
      throw listenConfigError(error, 'SMARTALEX_HTTP_PORT', 'SMARTALEX_HTTP_HOST', config.SMARTALEX_HTTP_HOST, config.SMARTALEX_HTTP_PORT, 'HTTP') ?? error;
    });
    closers.unshift(() => http.close());
    const address = http.server.address();
    const httpPort = typeof address === 'object' && address ? address.port : config.SMARTALEX_HTTP_PORT;
    if (demo) {
      output.write(describeDemo(demo, sipPorts.udp ?? sipPorts.tcp ?? config.SMARTALEX_SIP_PORT, Boolean(output.isTTY)) + '\n');
      logger.info({ tenantId: demo.tenantId, number: demo.number }, 'demo tenant provisioned');
    }
    const providers = await providerReport(db, config);
    output.write(`Providers:\n${providers.lines.map((l) => `  ${l}`).join('\n')}\n`);
    logger.info({ providers: providers.lines }, 'conversation providers');
    let vadModel: SileroModel | undefined;
    // SIP, RTP, media-thread and VAD counters on /metrics (src/calls/call-metrics.ts).
    registerCallMetrics(metrics, calls, () => vadModel?.stats);
    const traceListeners = new Set<(trace: TurnTrace, callId: string) => void>();
    calls.on('call-started', (session) => session.on('trace', (trace) => {
      for (const listener of traceListeners) {
        try { listener(trace, session.callId); } catch { /* a listener's failure is its own */ }
      }
    }));
    if (!options.calls?.runners?.conversation) {
      // Load the VAD model now, not on the first call (it takes ~100 ms and briefly holds the event loop).
      vadModel = await SileroModel.load().catch((error: unknown) => {
        logger.warn({ err: error }, 'Silero VAD model could not be loaded; conversations will fail to start');
        return undefined;
      });
      // The WebAssembly TTS process takes about a second to load: start it now, not on the first call's greeting.
      if (providers.usesEspeakWasm) {
        prewarmEspeakWasm().catch((error: unknown) => logger.warn({ err: { message: (error as Error)?.message } }, 'eSpeak NG (WebAssembly) could not start; conversation calls will fail to speak'));
      }
      const runConversation = createConversationRunner({
        config, offline: providers.offline, logger: logger.child({ component: 'conversation' }), metrics,
        // The tenant's own provider keys win over the server-wide ones; cached per tenant for 60 s.
        tenantKeys: cachedTenantKeys((tenantId) => loadTenantProviderKeys(db, recordingVault.vault.keys, tenantId, {
          onUnsealFailure: (provider, errorName) => logger.warn({ tenantId, provider, err: { name: errorName } }, 'tenant provider key could not be unsealed; using the server-wide key'),
        })),
      });
      calls.setRunner('conversation', async (call) => { await runConversation(call); });
    }
    logger.info({ httpPort, sipPorts, database: db.kind }, 'smartalex media server started');
    return {
      db,
      httpPort,
      metrics,
      calls,
      recordings,
      sipPort: sipPorts.udp ?? sipPorts.tcp ?? 0,
      sipPorts,
      onTurnTrace: (listener) => {
        traceListeners.add(listener);
        return () => void traceListeners.delete(listener);
      },
      close: async () => {
        for (const close of closers) await close().catch((error: unknown) => logger.error({ err: error }, 'error while closing'));
      },
    };
  } catch (error) {
    for (const close of closers) await close().catch(() => undefined);
    throw error;
  }
}
