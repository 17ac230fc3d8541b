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
import { checkStartupPaths } from './startup-checks.ts';
import { createHttpServer, type ReadinessCheck } from './http/server.ts';
import type { Logger } from './log.ts';
import { describeDemo, provisionDemoIfEmpty } from './provision.ts';
import { registerRecordingRoutes } from './http/recordings.ts';
import { audioRedactionFrom, DEFAULT_AUDIO_REDACTION, openRecordingVault, RecordingCallTap, RecordingService } from './recordings/index.ts';
import { startRetentionSweeper } from './retention.ts';
import { CallManager, callManagerOptions, type CallManagerOptions } from './calls/index.ts';
import { providerReport } from './agents/startup-report.ts';
import { createConversationRunner } from './agents/runner.ts';
import { cachedTenantKeys, loadTenantProviderKeys } from './agents/tenant-keys.ts';
import { failureLabel, latencySummary, traceLatency } from './agents/call-record.ts';
import { completeConversation, recordCallOutcome } from '../storage/index.ts';
import { WebhookDeliveryWorker } from './webhooks/index.ts';
import { latencyMetrics, type TurnTrace } from '../pipeline/tracing/index.ts';
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
    const recordedCalls = new Map<string, RecordingCallTap>();
    calls.addTap((call) => {
      if (!call.agent.recordingEnabled) return undefined;
      let audioRedaction = DEFAULT_AUDIO_REDACTION;
      try {
        audioRedaction = audioRedactionFrom(call.agent.providerSettings);
      } catch (error) {
        logger.warn({ agentId: call.agent.id, reason: (error as Error).message }, 'invalid pii_audio_redaction; recording with the default (on)');
      }
      const recorder = recordings.startCallRecording({ tenantId: call.tenantId, callId: call.callId, agent: call.agent, audioRedaction });
      const tap = new RecordingCallTap(recorder, { onDone: () => recordedCalls.delete(call.callId) });
      recordedCalls.set(call.callId, tap);
      return tap;
    });
    calls.on('call-started', (session) => recordedCalls.get(session.callId)?.useOutgoingQueue(() => session.rtp.queuedMs));
    const sipPorts = calls.sipPorts;
    const readiness: Record<string, ReadinessCheck> = { database: () => db.ping(), sip: () => calls.ready };
    const http = createHttpServer({ logger, metrics, readiness });
    registerRecordingRoutes(http, {
      db, vault: recordingVault.vault, linkSecret: recordingVault.linkSecret, logger, securityLog: calls.securityLog,
      ...(config.SMARTALEX_PUBLIC_BASE_URL ? { publicBaseUrl: config.SMARTALEX_PUBLIC_BASE_URL } : {}),
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
    const traceListeners = new Set<(trace: TurnTrace, callId: string) => void>();
    if (!options.calls?.runners?.conversation) {
      // Load the VAD model now, not on the first call (it takes ~100 ms and briefly holds the event loop).
      await SileroModel.load().catch((error: unknown) => logger.warn({ err: error }, 'Silero VAD model could not be loaded; conversations will fail to start'));
      // The WebAssembly TTS process takes about a second to load: start it now, not on the first call's greeting.
      if (providers.usesEspeakWasm) {
        prewarmEspeakWasm().catch((error: unknown) => logger.warn({ err: { message: (error as Error)?.message } }, 'eSpeak NG (WebAssembly) could not start; conversation calls will fail to speak'));
      }
      const seq = new Map<string, number>();
      const runConversation = createConversationRunner({
        config, offline: providers.offline, logger: logger.child({ component: 'conversation' }), metrics,
        // The tenant's own provider keys win over the server-wide ones; cached per tenant for 60 s.
        tenantKeys: cachedTenantKeys((tenantId) => loadTenantProviderKeys(db, recordingVault.vault.keys, tenantId, {
          onUnsealFailure: (provider, errorName) => logger.warn({ tenantId, provider, err: { name: errorName } }, 'tenant provider key could not be unsealed; using the server-wide key'),
        })),
        onTurn: async (callId, turn, tenantId) => {
          const n = (seq.get(callId) ?? 0) + 1;
          seq.set(callId, n);
          await recordings.addTranscriptTurn({
            tenantId, callId, seq: n, speaker: turn.role,
            redacted: { text: turn.redactedText, entities: turn.entities }, latency: turn.trace ? traceLatency(turn.trace) : null,
          });
        },
        onAudioRedaction: (callId, span) => recordedCalls.get(callId)?.recorder.redactAudio(span),
        onTrace: (callId, trace) => {
          for (const listener of traceListeners) {
            try { listener(trace, callId); } catch { /* a listener's failure is its own */ }
          }
        },
        // The call record keeps what failed (stage and provider) and the latency summary over the call's turns.
        onFailure: (callId, failure, tenantId) => recordCallOutcome(db, tenantId, callId, { failure: failureLabel(failure) }),
        onEnd: async (callId, end, tenantId) => {
          seq.delete(callId);
          await completeConversation(db, tenantId, callId, {
            latency: { ...latencySummary(end.traces) },
            ...(end.failure ? { failure: failureLabel(end.failure) } : {}),
          });
        },
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
