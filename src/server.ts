/**
 * `smartalex serve`: wires configuration, database, HTTP and (as they land)
 * the SIP listeners and call handling into one process, and shuts them down in
 * reverse order.
 */
import { join } from 'node:path';
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
import { registerCallPage } from './http/call-page.ts';
import { registerWidgetScript } from './http/widget-script.ts';
import { UpgradeRouter } from './http/upgrades.ts';
import { WEBRTC_SIGNALLING_PATH, webRtcSignalling } from './webrtc/index.ts';
import { controlPlaneSettings, registerControlPlane, systemClock, type ControlPlaneDeps } from './api/index.ts';
import { LiveCallFeed, OtherNodesCalls, registerConsole } from './console/index.ts';
import { openRecordingVault, recordingTaps, RecordingService } from './recordings/index.ts';
import { attachStreamEndpoint, registerCarrierWebhooks, STREAM_PATHS } from './streams/index.ts';
import { startRetentionSweeper } from './retention.ts';
import { ClusterNode, defaultNodeId } from './cluster/node.ts';
import { clusterCallLimiter } from './cluster/call-leases.ts';
import { localCallLimiter, tenantLimitIn } from './calls/call-limit.ts';
import { LeaderElection } from './cluster/leader.ts';
import { reaperJob } from './cluster/reaper.ts';
import { postgresRateLimitStore } from './cluster/rate-limit-store.ts';
import { CallManager, callManagerOptions, registerCallMetrics, type CallManagerOptions, type DrainReport } from './calls/index.ts';
import { providerReport } from './agents/startup-report.ts';
import { createConversationRunner } from './agents/runner.ts';
import { cachedTenantKeys, loadTenantProviderKeys } from './agents/tenant-keys.ts';
import { latencyMetrics, type TurnTrace } from '../pipeline/tracing/index.ts';
import { WebhookDeliveryWorker } from './webhooks/index.ts';
import { GdprExportJobs } from './gdpr/export-jobs.ts';
import { CampaignRunner, sipDialer } from './campaigns/index.ts';
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
  /** This process as a node of the cluster (heartbeat row, call leases): see src/cluster/node.ts. */
  node: ClusterNode;
  /** The cluster lead (retention sweeper, reaper of lost nodes, webhook delivery, campaigns): see src/cluster/leader.ts. */
  leader: LeaderElection;
  /** The bound SIP UDP port (TCP uses the same number when it was free). */
  sipPort: number;
  sipPorts: { udp?: number; tcp?: number; tls?: number };
  /**
   * Every finished turn's latency trace from the built-in conversation runner
   * (the benchmark's raw feed); returns the unsubscribe. A listener that
   * throws is ignored. Nothing arrives when options.calls.runners replaced the runner.
   */
  onTurnTrace(listener: (trace: TurnTrace, callId: string) => void): () => void;
  /**
   * Before a shutdown (SIGTERM): /readyz turns 503 ("draining"), SIP OPTIONS and new INVITEs get 503 so a
   * dispatcher sends new calls elsewhere, and the calls in progress finish, up to SMARTALEX_DRAIN_TIMEOUT_S
   * (then a goodbye and BYE). Resolves when no call is left; close() afterwards.
   */
  drain(): Promise<DrainReport>;
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
    // Cluster state lives in the database (src/cluster): this node's heartbeat and call leases.
    const heartbeatMs = config.SMARTALEX_NODE_HEARTBEAT_S * 1000;
    const staleAfterMs = config.SMARTALEX_NODE_TIMEOUT_S * 1000;
    const clusterLog = logger.child({ component: 'cluster' });
    const node = await ClusterNode.start({ db, id: config.SMARTALEX_NODE_ID ?? defaultNodeId(), heartbeatMs, staleAfterMs, logger: clusterLog });
    closers.unshift(() => node.stop());
    // Embedded PGlite has one process by construction (the data directory's lock): its count in memory is the
    // cluster's, without two statements a call. A Postgres server may have many nodes: leases in the database.
    // Each tenant's own limit, under SMARTALEX_MAX_CALLS_PER_TENANT (the node-wide ceiling).
    const callLimit = tenantLimitIn(db, config.SMARTALEX_MAX_CALLS_PER_TENANT);
    const callLimiter = db.kind === 'pglite'
      ? localCallLimiter(callLimit)
      : clusterCallLimiter(db, node, callLimit, logger.child({ component: 'calls' }));
    // On a Postgres server other nodes may show this node's calls (src/console): each call writes its turn count as it goes.
    const calls = await CallManager.start({ ...callManagerOptions(config, db, logger), metrics, callLimiter, nodeId: node.id, shareTurns: db.kind === 'postgres', ...options.calls }).catch((error: unknown) => {
      if (!(error instanceof SipListenError)) throw error;
      throw listenConfigError(error.cause, error.transport === 'TLS' ? 'SMARTALEX_SIP_TLS_PORT' : 'SMARTALEX_SIP_PORT', 'SMARTALEX_SIP_HOST', error.host, error.port, `SIP ${error.transport}`) ?? error;
    });
    closers.unshift(() => calls.close());
    // The jobs that must run once in the cluster run on the node holding the lead (src/cluster/leader.ts):
    // retention, the reaper of lost nodes, the webhook outbox's delivery worker and the campaign runner
    // (its calls are this node's). Started after the call manager, stopped before it closes.
    let campaignRunner: CampaignRunner | undefined;
    const exportRetentionMs = config.SMARTALEX_GDPR_EXPORT_RETENTION_HOURS * 3_600_000;
    const leader = await LeaderElection.start({
      db, nodeId: node.id, retryMs: heartbeatMs, logger: clusterLog,
      jobs: [
        { name: 'retention', start: () => startRetentionSweeper({
          db, store: recordingVault.store, logger: logger.child({ component: 'retention' }), intervalMinutes: config.SMARTALEX_RETENTION_SWEEP_MINUTES, exportRetentionMs,
        }) },
        reaperJob(db, { intervalMs: heartbeatMs, staleAfterMs, logger: clusterLog }),
        { name: 'webhooks', start: () => startWorker(new WebhookDeliveryWorker({
          db, keys: recordingVault.vault.keys, logger: logger.child({ component: 'webhooks' }),
          allowLoopback: config.SMARTALEX_WEBHOOK_ALLOW_LOOPBACK, timeoutMs: config.SMARTALEX_WEBHOOK_TIMEOUT_MS,
        })) },
        ...(config.SMARTALEX_CAMPAIGN_VIA ? [{ name: 'campaigns', start: () => (campaignRunner = startWorker(new CampaignRunner({
          db, logger: logger.child({ component: 'campaigns' }), pollMs: config.SMARTALEX_CAMPAIGN_POLL_MS,
          dial: sipDialer({
            db, calls, via: config.SMARTALEX_CAMPAIGN_VIA!, ringTimeoutMs: config.SMARTALEX_CAMPAIGN_RING_TIMEOUT_S * 1000,
            ...(config.SMARTALEX_CAMPAIGN_SIP_USERNAME && config.SMARTALEX_CAMPAIGN_SIP_PASSWORD
              ? { auth: { username: config.SMARTALEX_CAMPAIGN_SIP_USERNAME, password: config.SMARTALEX_CAMPAIGN_SIP_PASSWORD } } : {}),
          }),
        }))) }] : []),
      ],
    });
    closers.unshift(() => leader.stop());
    // Every call whose agent records: both legs into the vault, sealed at hang-up (src/recordings/call-tap.ts).
    calls.addTap(recordingTaps(recordings, logger));
    const sipPorts = calls.sipPorts;
    node.sipUri = `sip:${calls.endpoint.transport.advertisedAddress}:${sipPorts.udp ?? sipPorts.tcp ?? config.SMARTALEX_SIP_PORT}`;
    const readiness: Record<string, ReadinessCheck> = { database: () => db.ping(), sip: () => calls.ready, draining: () => !calls.isDraining };
    const http = createHttpServer({
      logger, metrics, readiness,
      ...(config.SMARTALEX_HTTP_TLS_CERT && config.SMARTALEX_HTTP_TLS_KEY
        ? { tls: { cert: readPemSetting('SMARTALEX_HTTP_TLS_CERT', config.SMARTALEX_HTTP_TLS_CERT), key: readPemSetting('SMARTALEX_HTTP_TLS_KEY', config.SMARTALEX_HTTP_TLS_KEY) } }
        : {}),
    });
    // GDPR export jobs (POST /v1/gdpr/exports): ZIPs under <data dir>/exports, kept SMARTALEX_GDPR_EXPORT_RETENTION_HOURS (this node
    // deletes its own stale ones at every retention interval); running jobs finish before the database closes.
    const gdprExports = new GdprExportJobs({
      db, vault: recordingVault.vault, dir: join(config.SMARTALEX_DATA_DIR, 'exports'), logger: logger.child({ component: 'gdpr' }),
      retentionMs: exportRetentionMs, fileSweepMs: config.SMARTALEX_RETENTION_SWEEP_MINUTES * 60_000,
    });
    closers.unshift(() => gdprExports.close());
    const controlPlane: ControlPlaneDeps = {
      db, logger: logger.child({ component: 'api' }), clock: systemClock, sessionSecret: recordingVault.sessionSecret,
      settings: controlPlaneSettings(config),
      services: {
        keyRing: recordingVault.vault.keys, recordingStore: recordingVault.store, recordingLinkSecret: recordingVault.linkSecret,
        recordingVault: recordingVault.vault, gdprExports, callTokenSecret: recordingVault.callTokenSecret,
      },
      // Per-route limits (recording links, export downloads) counted in Postgres: they hold across every node of a cluster.
      rateLimitStore: postgresRateLimitStore(db, 'api'), securityLog: calls.securityLog,
    };
    registerRecordingRoutes(http, {
      db, vault: recordingVault.vault, linkSecret: recordingVault.linkSecret, logger, securityLog: calls.securityLog,
      rateLimitStore: postgresRateLimitStore(db, 'recordings'),
    });
    // Carrier WebSocket media streams: the signed voice webhooks and the stream endpoints (src/streams).
    registerCarrierWebhooks(http, {
      db, keys: recordingVault.vault.keys, streamSecret: recordingVault.streamSecret, draining: () => calls.isDraining, logger,
      ...(config.SMARTALEX_PUBLIC_BASE_URL ? { publicBaseUrl: config.SMARTALEX_PUBLIC_BASE_URL } : {}),
    });
    const streams = attachStreamEndpoint(http.server, { db, calls, streamSecret: recordingVault.streamSecret, logger });
    // Before the HTTP server closes (it would wait for the upgraded sockets): stream calls end as 'shutdown'.
    http.addHook('preClose', () => streams.close());
    // The control-plane API under /v1 (src/api/README.md).
    await registerControlPlane(http, controlPlane);
    // The operators' console at /console, with the live calls (src/console): this node's from its call manager,
    // and on a Postgres server (a cluster) the other nodes' from the database while a console watches.
    const liveCalls = new LiveCallFeed(calls, {
      nodeId: node.id,
      ...(db.kind === 'postgres' ? { otherNodes: new OtherNodesCalls({ db, nodeId: node.id, logger: logger.child({ component: 'console' }) }) } : {}),
    });
    closers.unshift(() => liveCalls.close());
    registerConsole(http, { deps: controlPlane, feed: liveCalls });
    // Browser calls: the /call/<agentId> page, the embeddable /widget.js and their signalling socket (src/webrtc);
    // upgrades to the carrier stream paths are the stream endpoint's.
    registerCallPage(http);
    registerWidgetScript(http);
    const webrtc = webRtcSignalling({ config, db, calls, secret: recordingVault.callTokenSecret, logger: logger.child({ component: 'webrtc' }) });
    http.addHook('preClose', () => webrtc.close()); // before the HTTP server closes: it would wait for the upgraded sockets
    new UpgradeRouter(http.server, { handledElsewhere: (path) => (Object.values(STREAM_PATHS) as string[]).includes(path) }).add(WEBRTC_SIGNALLING_PATH, webrtc.handleUpgrade);
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
    logger.info({ httpPort, sipPorts, database: db.kind, nodeId: node.id }, 'smartalex media server started');
    return {
      db,
      httpPort,
      metrics,
      calls,
      node,
      leader,
      recordings,
      sipPort: sipPorts.udp ?? sipPorts.tcp ?? 0,
      sipPorts,
      onTurnTrace: (listener) => {
        traceListeners.add(listener);
        return () => void traceListeners.delete(listener);
      },
      drain: async () => {
        // A draining node places no new campaign call. On a Postgres server it gives the lead up too: another
        // node takes the cluster's jobs over once this node's campaign calls have ended. Embedded PGlite has no
        // other node: its jobs (webhook delivery among them) go on until close.
        const resigned = db.kind === 'postgres' ? leader.stop() : campaignRunner?.stop();
        const draining = calls.drain({ deadlineMs: config.SMARTALEX_DRAIN_TIMEOUT_S * 1000 });
        await node.draining();
        await resigned;
        return draining;
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

/** A worker as a leader job: started when this node takes the lead, stopped when it loses or gives it up. */
function startWorker<W extends { start(): void; stop(): Promise<void> }>(worker: W): W {
  worker.start();
  return worker;
}
