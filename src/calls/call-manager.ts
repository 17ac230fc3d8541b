/**
 * CallManager: the SIP side of `serve`. One SipEndpoint (UDP + TCP, TLS when
 * configured) with the flood guard in front; each new INVITE is routed by the
 * called number (Request-URI user, else To user) to a tenant and agent,
 * admitted only from the number's allowed CIDRs or after digest auth (MD5 or
 * SHA-256, RFC 8760, against stored HA1s; which ones, in what order, is the
 * number's setting or else the server's, see media/sip/digest.ts), held to the per-tenant concurrent
 * call limit, answered through SDP offer/answer, and run as a CallSession
 * with the runner registered for the agent's mode. Outbound calls (UAC) go
 * through `placeCall` and end up in the same CallSession. Calls that come in
 * another way (a carrier WebSocket media stream, WebRTC) enter through
 * `acceptTransportCall` with their transport already connected and take the
 * same set-up (`establish`: call limit, call row, taps, session, drain);
 * only SIP's own steps (ring, RTP, offer/answer) are `establishSip`. `drain()` (before a
 * shutdown) stops taking calls and lets those in progress finish, up to a
 * deadline, then asks each to say goodbye and hang up.
 *
 * Admission and enumeration (the rule, in order):
 *  1. source inside the called number's allowed CIDRs: admitted, no digest;
 *  2. otherwise, no Authorization: 401 with the digest challenge; the same
 *     challenge (realm, algorithms, headers) whether the number exists, has
 *     digest credentials or has none, so a source on no allowlist cannot tell
 *     a number without credentials from an unknown one;
 *  3. otherwise, credentials checked against the number's HA1s: admitted when
 *     they match; 403 Forbidden (same headers for every number) when they do
 *     not, when the number has no credentials, or when it does not exist.
 * The issue's plain "403 unless allowed or authenticated" becomes 401 first,
 * because a challenge is the only reply that lets real carriers authenticate
 * and it must not depend on the number. A number's digest realm and its own
 * digest algorithms appear in its challenge: a number that sets either apart
 * from the server's can be told from an unknown one (that it exists, nothing
 * more); use one realm (the default "smartalex") and the server's algorithms
 * unless a number really needs its own.
 */
import { EventEmitter } from 'node:events';
import type { Registry } from 'prom-client';
import { readFileSync, existsSync } from 'node:fs';
import { rootCertificates } from 'node:tls';
import { DEFAULT_DIGEST_ALGORITHMS, DigestServer, SipCallError, SipEndpoint, SipListenError, type Dialog, type SipEndpointOptions, type DigestAlgorithm, type GuardOptions, type IncomingCall, type SipRequest, type TransportStats, parseNameAddr, parseUri, isSipUri, formatUri, type Uri } from '../../media/sip/index.ts';
import { MediaThread, PortAllocator, RtpSession } from '../../media/rtp/index.ts';
import { assertOutboundAllowed, stripPunctuation } from '../compliance/index.ts';
import type { RtpStream, ThreadedRtpSessionOptions } from '../../media/rtp/index.ts';
import { answerOffer, createOffer, readAnswer, sdpFailureWarning, type NegotiatedAudio } from '../../media/sdp/index.ts';
import type { EndReason } from '../../pipeline/index.ts';
import {
  finishCall, getAgent, routeNumber, startCall, type AgentMode, type AgentRow, type CallStart, type Database, type NumberRoute,
} from '../../storage/index.ts';
import { readPemCertificates, type Config } from '../config.ts';
import { readPemSetting } from '../startup-checks.ts';
import type { Logger } from '../log.ts';
import { localCallLimiter, tenantLimitIn, type CallLimiter, type CallRefusal, type ReleaseCall } from './call-limit.ts';
import { CallSession } from './call-session.ts';
import { SipCallSession, type LocalMediaState } from './sip-call-session.ts';
import { createGreetingRunner, echoRunner, type AgentRunner } from './runners.ts';
import { SecurityLog } from './security-log.ts';
import { watchRefusals } from './sip-refusals.ts';
import type { CallTap, CallTransportKind, SessionTransport } from './session-transport.ts';
import { normalizeAddress, sourceAllowed } from './source-acl.ts';

export interface CallInfo {
  tenantId: string;
  callId: string;
  agent: AgentRow;
  direction: 'inbound' | 'outbound';
  /** The way in (SIP, a carrier media stream, WebRTC). */
  kind: CallTransportKind;
  /** PCM rate of the call's audio both ways, as the conversation hears it (16000 for G.722 and WebRTC): the recorder records at it. */
  sampleRate: number;
}

/** Builds a per-call tap (e.g. the recorder), or undefined to skip this call. */
export type TapFactory = (call: CallInfo) => CallTap | undefined;

export interface CallManagerOptions {
  db: Database;
  logger: Logger;
  host: string;
  /** UDP and TCP port (0 = ephemeral; TCP then tries the same number). */
  port: number;
  tls?: { port: number; cert: string | Buffer; key: string | Buffer };
  /** TLS connections the server opens: trusted roots (default Node's) and whether the peer is verified (default true). */
  tlsClient?: { ca?: string[]; rejectUnauthorized?: boolean };
  /** Address written into Contact and SDP (default: the bind address, or 127.0.0.1 for a wildcard). */
  publicAddress?: string;
  /** RTP port range; omitted: ephemeral ports. */
  rtpPorts?: { minPort: number; maxPort: number };
  /**
   * Run the calls' RTP in the process's media thread (media/rtp/media-thread.ts), away from the main
   * thread's event-loop lag and GC; false: in-thread RtpSessions. Default true (SMARTALEX_MEDIA_THREAD).
   */
  mediaThread?: boolean;
  /** Nice value the media thread sets for itself (see SMARTALEX_MEDIA_THREAD_NICE). */
  mediaThreadNiceness?: number;
  rtpTimeoutMs: number;
  /** The node-wide ceiling on a tenant's concurrent calls (SMARTALEX_MAX_CALLS_PER_TENANT); each tenant's own `maxConcurrentCalls` applies under it. */
  maxCallsPerTenant: number;
  /** Digest realm for challenges. Default "smartalex". */
  realm?: string;
  /**
   * Digest algorithms offered (in order) and accepted for numbers without their own list; default
   * DEFAULT_DIGEST_ALGORITHMS (MD5 alone: the one algorithm every deployed UA answers; see media/sip/digest.ts).
   */
  digestAlgorithms?: readonly DigestAlgorithm[];
  guard?: GuardOptions;
  /** Limits on unadmitted SIP state: stream connections (per source, total, message deadline) and pending server transactions. */
  sipLimits?: SipLimits;
  /** Ring for this long (180) before answering. Default 0. */
  ringMs?: number;
  runners?: Partial<Record<AgentMode, AgentRunner>>;
  taps?: TapFactory[];
  /** Where SIP refusals (401/403/488) are counted (smartalex_sip_refusals_total); the server's /metrics registry. */
  metrics?: Registry;
  /** Where the per-tenant limit is counted; default in this process (each tenant's own limit under `maxCallsPerTenant`). `serve` passes the cluster's leases. */
  callLimiter?: CallLimiter;
  /** This node's id, written on each call row (so a reaper can end the calls of a node that died). */
  nodeId?: string;
  /** Each call writes its running turn count on its row (CallSessionInit.shareTurns): the other nodes' consoles show it. */
  shareTurns?: boolean;
  /** Called as each set-up step begins (tracing; tests make a step fail by throwing here). */
  setupProbe?: (step: SetupStep) => void;
}

export type SipLimits = Pick<SipEndpointOptions, 'messageTimeoutMs' | 'maxConnections' | 'maxConnectionsPerSource' | 'maxPendingTransactions'>;

export interface PlaceCallOptions {
  tenantId: string;
  /** Agent id or name. */
  agent: string;
  /** Number (or user) to call. */
  number: string;
  /** Carrier to send the INVITE to, e.g. sip:carrier.example:5060 or sip:10.0.0.1:5060;transport=tcp */
  via: string;
  /** Our identity; its user part must be one of the tenant's numbers. Default: sip:<the tenant's first number>@<public address>. */
  from?: string;
  /** Who places the call, for the audit log of a refusal. Default "system:call-manager". */
  actor?: string;
  /** The callee's IANA time zone when known: calling hours are checked there (src/compliance/outbound-policy.ts). */
  timeZone?: string | null;
  timeoutMs?: number;
  auth?: { username: string; password: string };
  signal?: AbortSignal;
}

export interface CallManagerEvents {
  'call-started': [session: CallSession];
  'call-ended': [session: CallSession, reason: EndReason];
  /** A call refused before it was set up because its tenant was at its concurrent call limit (every way in, both directions). */
  'call-refused': [refusal: CallRefusal];
}

/** The steps of call set-up, in order (both directions; 'ring' only inbound). */
export type SetupStep = 'reserve' | 'record' | 'ring' | 'rtp' | 'connect' | 'session';

/** A set-up refusal: the SIP answer for an inbound call, and the reason its record ends with. */
class SetupFailure extends Error {
  override name = 'SetupFailure';
  constructor(readonly status: number, readonly sipReason: string, readonly endReason: EndReason, readonly warning?: { code: number; text: string }) {
    super(`call set-up refused: ${status} ${sipReason}`);
  }
}

/** What every way in tells the set-up: whose call it is and what its row says. */
interface CallSetup {
  direction: 'inbound' | 'outbound';
  /** The way in. */
  kind: CallTransportKind;
  tenantId: string;
  agent: AgentRow;
  /** Inbound: the caller's CANCEL. */
  cancelled?: AbortSignal;
  record: CallStart;
}

/** What differs between an inbound and an outbound SIP call's set-up; the rest is `establishSip`. */
interface CallLeg extends CallSetup {
  /** Inbound: 180 Ringing, then the configured ring time. */
  ring?: () => Promise<void>;
  rtp: Omit<ThreadedRtpSessionOptions, 'bindAddress' | 'portRange'>;
  carrier: string;
  /** Offer/answer over SIP once the RTP port is known: the dialog, and the audio or why it is unusable. */
  connect(rtp: RtpStream, local: LocalMediaState): Promise<{ dialog: Dialog; negotiated: NegotiatedAudio } | { dialog: Dialog; negotiated?: undefined; error: Error }>;
}

export class CallManagerError extends Error {
  override name = 'CallManagerError';
}

/** An outbound call refused because its tenant is at its concurrent call limit (the limit in force named). */
export class CallLimitError extends CallManagerError {
  override name = 'CallLimitError';
  constructor(readonly tenantId: string, readonly limit: number) {
    super(`tenant ${tenantId} is at its concurrent call limit (${limit})`);
  }
}

/** Why acceptTransportCall refused a call: the transport answers its far end accordingly. */
export class TransportCallError extends CallManagerError {
  override name = 'TransportCallError';
  constructor(readonly code: 'draining' | 'no-agent' | 'call-limit', message: string) {
    super(message);
  }
}

/** A call over a transport other than SIP, already connected (see acceptTransportCall). */
export interface TransportCallOptions {
  kind: Exclude<CallTransportKind, 'sip'>;
  transport: SessionTransport;
  tenantId: string;
  /** The agent (id or name); or else `calledNumber`, one of the tenant's numbers, routes the call to its agent. */
  agent?: string;
  calledNumber?: string;
  /** The tenant's number the call is on (numbers.id), when the caller already knows it. */
  numberId?: string;
  /** Default 'inbound'. */
  direction?: 'inbound' | 'outbound';
  /** Who calls and who is called, as the call row shows them (e.g. tel:+15551230000, webrtc:<origin>). */
  from: string;
  to: string;
  /** The carrier's own id of the call (Twilio CallSid, Telnyx call_control_id), stored as the row's external call id. */
  externalCallId?: string;
}

export interface DrainOptions {
  /** How long calls in progress may go on by themselves (SMARTALEX_DRAIN_TIMEOUT_S). */
  deadlineMs: number;
  /** After the deadline: how long a call gets to say goodbye before its BYE is forced. Default 15 s. */
  goodbyeMs?: number;
}

/** How the calls in progress at drain time ended. */
export interface DrainReport {
  /** Ended by themselves before the deadline. */
  finished: number;
  /** Asked to wrap up at the deadline (goodbye, then BYE). */
  wrappedUp: number;
  /** Still up after the goodbye time: ended with a BYE. */
  forced: number;
}

const DEFAULT_GOODBYE_MS = 15_000;

export class CallManager extends EventEmitter<CallManagerEvents> {
  readonly endpoint: SipEndpoint;
  readonly securityLog: SecurityLog;
  private readonly runners = new Map<AgentMode, AgentRunner>();
  private readonly taps: TapFactory[];
  private readonly ports: PortAllocator;
  /** The media thread when calls run their RTP there, and our release of it. */
  private readonly media: MediaThread | undefined;
  private readonly releaseMedia: (() => Promise<void>) | undefined;
  private readonly active = new Map<string, number>();
  private readonly limiter: CallLimiter;
  /** New INVITEs inside onInvite (lookup, auth, set-up) that may still become calls. */
  private admitting = 0;
  private draining: Promise<DrainReport> | undefined;
  private readonly sessions = new Set<CallSession>();
  private readonly digestServers = new Map<string, DigestServer>();
  private readonly mediaAddress: string;
  private readonly bindAddress: string;
  private warnedConversation = false;
  private closed = false;

  private constructor(endpoint: SipEndpoint, securityLog: SecurityLog, private readonly options: CallManagerOptions) {
    super();
    this.endpoint = endpoint;
    this.securityLog = securityLog;
    this.taps = [...(options.taps ?? [])];
    this.limiter = options.callLimiter ?? localCallLimiter(tenantLimitIn(options.db, options.maxCallsPerTenant));
    this.ports = new PortAllocator(options.rtpPorts);
    if (options.mediaThread ?? true) {
      this.media = MediaThread.shared();
      if (options.mediaThreadNiceness !== undefined) this.media.niceness = options.mediaThreadNiceness;
      this.releaseMedia = this.media.acquire(options.logger);
    }
    this.bindAddress = options.host;
    this.mediaAddress = endpoint.transport.advertisedAddress;
    this.runners.set('echo', echoRunner);
    this.runners.set('greeting', createGreetingRunner());
    for (const [mode, runner] of Object.entries(options.runners ?? {}) as Array<[AgentMode, AgentRunner]>) this.runners.set(mode, runner);
    endpoint.onInvite((call) => this.onInvite(call));
    watchRefusals(endpoint.transactions, options.logger, options.metrics);
  }

  static async start(options: CallManagerOptions): Promise<CallManager> {
    const securityLog = new SecurityLog(options.db, options.logger);
    const endpoint = await SipEndpoint.create({
      host: options.host,
      udpPort: options.port,
      tcpPort: options.port,
      tcpSameAsUdp: true,
      ...(options.tls ? { tls: { port: options.tls.port, cert: options.tls.cert, key: options.tls.key } } : {}),
      ...(options.tlsClient ? { tlsClient: options.tlsClient } : {}),
      ...(options.publicAddress ? { advertisedAddress: options.publicAddress } : {}),
      ...options.sipLimits,
      guard: { ...options.guard, onSecurityEvent: (e) => securityLog.record({ type: e.type, source: e.source, ...(e.detail ? { detail: { detail: e.detail } } : {}) }) },
    }).catch(async (error: unknown) => {
      await securityLog.close();
      // A bind failure keeps its transport and port: `serve` turns it into the configuration error naming the setting.
      if (error instanceof SipListenError) throw error;
      throw new CallManagerError(`could not open the SIP listeners on ${options.host}:${options.port}: ${error instanceof Error ? error.message : String(error)}`);
    });
    const manager = new CallManager(endpoint, securityLog, options);
    // Load the media thread now: otherwise the first call waits the few hundred ms it takes to boot.
    await manager.media?.warmUp().catch((error: unknown) => options.logger.warn({ err: error }, 'media thread failed to start; calls will retry it'));
    if (manager.media?.priorityNote) options.logger.info(manager.media.priorityNote);
    return manager;
  }

  /** Registers the runner for an agent mode (e.g. the conversation pipeline for 'conversation'). */
  setRunner(mode: AgentMode, runner: AgentRunner): void {
    this.runners.set(mode, runner);
  }

  /** Adds a per-call tap factory (the recorder's hook point). */
  addTap(factory: TapFactory): void {
    this.taps.push(factory);
  }

  get sipPorts(): { udp?: number; tcp?: number; tls?: number } {
    return this.endpoint.ports;
  }

  /** The SIP transport's counters (for /metrics). */
  sipStats(): TransportStats {
    return this.endpoint.transport.stats;
  }

  /** Whether calls run their RTP in the media thread. */
  get usesMediaThread(): boolean {
    return this.media !== undefined;
  }

  get ready(): boolean {
    return !this.closed;
  }

  /** True once drain() has begun: no new calls are taken (OPTIONS and INVITEs get 503). */
  get isDraining(): boolean {
    return this.draining !== undefined;
  }

  /**
   * Stops taking calls (OPTIONS and new INVITEs get 503, outbound calls are refused), waits for the calls in
   * progress to end by themselves up to `deadlineMs`, then asks each to say goodbye and hang up, and ends
   * any still up after `goodbyeMs` with a BYE. Resolves when no call is left; a second call joins the first.
   */
  drain(options: DrainOptions): Promise<DrainReport> {
    this.draining ??= this.runDrain(options);
    return this.draining;
  }

  private async runDrain(options: DrainOptions): Promise<DrainReport> {
    const log = this.options.logger;
    this.endpoint.drain();
    const idle = (): boolean => this.sessions.size === 0 && this.admitting === 0;
    let ended = 0;
    const count = (): void => { ended++; };
    this.on('call-ended', count);
    log.info({ calls: this.sessions.size, deadlineMs: options.deadlineMs }, 'draining: no new calls; waiting for the calls in progress');
    try {
      await until(idle, options.deadlineMs);
      const report: DrainReport = { finished: ended, wrappedUp: 0, forced: 0 };
      if (idle()) return report;
      await until(() => this.admitting === 0, 5_000); // a call being set up becomes a session (or fails) first
      const late = [...this.sessions];
      report.wrappedUp = late.length;
      log.info({ calls: late.length }, 'drain deadline reached: the remaining calls say goodbye and hang up');
      for (const session of late) session.wrapUp();
      await until(idle, options.goodbyeMs ?? DEFAULT_GOODBYE_MS);
      const stuck = [...this.sessions];
      report.forced = stuck.length;
      await Promise.all(stuck.map((s) => s.end('node-drain', true)));
      return report;
    } finally {
      this.off('call-ended', count);
    }
  }

  /** RTP legs open (in the media thread, or in this thread's port range): none once every call is over. */
  get openRtpLegs(): number {
    return this.media ? this.media.sessionCount : this.ports.allocated;
  }

  activeCalls(tenantId?: string): number {
    return tenantId ? this.active.get(tenantId) ?? 0 : this.sessions.size;
  }

  get calls(): ReadonlySet<CallSession> {
    return this.sessions;
  }

  private runnerFor(agent: AgentRow, log: Logger): AgentRunner {
    const runner = this.runners.get(agent.mode);
    if (runner) return runner;
    if (agent.mode === 'conversation' && !this.warnedConversation) {
      this.warnedConversation = true;
      log.warn('no conversation runner is registered yet; conversation agents play their greeting instead');
    }
    return this.runners.get('greeting')!;
  }

  private digestServer(realm: string): DigestServer {
    let server = this.digestServers.get(realm);
    if (!server) { server = new DigestServer({ realm, algorithms: this.options.digestAlgorithms ?? DEFAULT_DIGEST_ALGORITHMS }); this.digestServers.set(realm, server); }
    return server;
  }

  /**
   * A place under the tenant's call limit (counted by the limiter, cluster-wide under `serve`); the release
   * runs once. Refused: the limit that decided it, logged (tenant, way in, limit: nothing of the caller) and
   * told as 'call-refused' (smartalex_sip_calls_refused_total).
   */
  private async reserve(setup: CallSetup): Promise<ReleaseCall | { refusedAt: number }> {
    const { tenantId } = setup;
    const admission = await this.limiter.acquire(tenantId);
    if (!admission.admitted) {
      const refusal: CallRefusal = { reason: 'call-limit', kind: setup.kind, direction: setup.direction, tenantId, limit: admission.limit };
      this.options.logger.warn({ tenantId, kind: setup.kind, direction: setup.direction, limit: admission.limit }, 'tenant is at its concurrent call limit');
      this.emit('call-refused', refusal);
      return { refusedAt: admission.limit };
    }
    const release = admission.release;
    this.active.set(tenantId, (this.active.get(tenantId) ?? 0) + 1);
    let done = false;
    return () => {
      if (done) return;
      done = true;
      release();
      const n = (this.active.get(tenantId) ?? 1) - 1;
      if (n <= 0) this.active.delete(tenantId); else this.active.set(tenantId, n);
    };
  }

  /** A call's RTP leg: in the media thread (its allocator holds our port range), or in this thread. */
  private openRtp(options: Omit<ThreadedRtpSessionOptions, 'bindAddress' | 'portRange'>): Promise<RtpStream> {
    if (this.media) {
      const range = this.ports.range;
      return this.media.open({ ...options, bindAddress: this.bindAddress, ...(range ? { portRange: range } : {}) });
    }
    return RtpSession.open({ ...options, bindAddress: this.bindAddress, ports: this.ports });
  }

  private tapsFor(info: CallInfo, log: Logger): CallTap[] {
    const out: CallTap[] = [];
    for (const f of this.taps) {
      try { const t = f(info); if (t) out.push(t); } catch (error) { log.warn({ err: error }, 'a call tap failed to start'); }
    }
    return out;
  }

  // ------------------------------------------------------------ inbound

  private async onInvite(call: IncomingCall): Promise<void> {
    this.admitting++;
    try {
      await this.handleInvite(call);
    } finally {
      this.admitting--;
    }
  }

  private async handleInvite(call: IncomingCall): Promise<void> {
    const log = this.options.logger;
    const source = normalizeAddress(call.source.address);
    const called = calledNumber(call.request);
    let route: NumberRoute | undefined;
    try {
      route = called ? await routeNumber(this.options.db, called) : undefined;
    } catch (error) {
      log.error({ err: error }, 'number lookup failed');
      return call.reject(503, 'Service Unavailable', [['Retry-After', '5']]);
    }
    if (!(route && sourceAllowed(route.allowedCidrs, source))) {
      const digest = route?.digest;
      const server = this.digestServer(digest?.realm ?? this.options.realm ?? 'smartalex');
      // The number's own algorithms (e.g. SHA-256 only), else the server's: offered in that order, and the only ones accepted.
      const algorithms = route?.digestAlgorithms ? { algorithms: route.digestAlgorithms } : {};
      if (!call.request.headers.has('authorization')) return call.challenge(server, algorithms);
      const result = await call.verifyCredentials(server, (user, realm, algorithm) => {
        if (!digest || user !== digest.username || realm !== digest.realm) return undefined;
        return (algorithm === 'MD5' ? digest.ha1Md5 : digest.ha1Sha256) ?? undefined;
      }, algorithms);
      if (!result.ok) {
        if (result.stale) return call.challenge(server, { stale: true, ...algorithms });
        this.securityLog.record({ type: 'call-rejected', source, ...(route ? { tenantId: route.tenantId } : {}), detail: { reason: result.reason } });
        return call.reject(403, 'Forbidden');
      }
    }
    if (call.cancelled.aborted) return;
    let accepted = false;
    try {
      const leg = await this.inboundLeg(call, route!, () => { accepted = true; });
      const session = await this.establishSip(leg);
      log.info({ codec: session.codec, transport: call.source.transport, source }, 'call answered');
      const runner = this.runnerFor(session.agent, log);
      session.dialog.once('ack', () => session.answered(runner));
    } catch (error) {
      if (accepted || call.cancelled.aborted) return; // answered (the session path sent the BYE) or already 487
      if (error instanceof SetupFailure) {
        return call.reject(error.status, error.sipReason, [
          ...(error.status === 503 ? [['Retry-After', '5'] as const] : []),
          ...(error.warning ? [this.endpoint.warning(error.warning.code, error.warning.text)] : []),
        ]);
      }
      log.error({ err: error, tenantId: route!.tenantId }, 'could not set up the call');
      call.reject(500, 'Server Internal Error');
    }
  }

  /** The inbound side of set-up: checks that hold nothing (agent, SDP offer), then how to ring and answer. */
  private async inboundLeg(call: IncomingCall, route: NumberRoute, onAccepted: () => void): Promise<CallLeg> {
    const agent = await getAgent(this.options.db, route.tenantId, route.agentId);
    if (!agent) throw new SetupFailure(480, 'Temporarily Unavailable', 'setup-failed');
    if (!call.offer) throw new SetupFailure(488, 'Not Acceptable Here', 'no-common-codec', { code: 399, text: 'An SDP offer is required' });
    const offer = call.offer;
    // SRTP (SDES) only when the keys came over TLS: over UDP or TCP they would cross the network in clear.
    // A number that requires SRTP takes nothing else (RTP/SAVP over TLS only).
    const tls = call.source.transport === 'TLS';
    if (route.requireSrtp && !tls) throw new SetupFailure(488, 'Not Acceptable Here', 'no-common-codec', sdpFailureWarning('srtp-required'));
    const srtp = route.requireSrtp ? 'required' as const : tls ? 'allowed' as const : undefined;
    const probe = answerOffer(offer, { address: this.mediaAddress, port: 9, ...(srtp ? { srtp } : {}) });
    if (!probe.ok) throw new SetupFailure(probe.status, probe.status === 488 ? 'Not Acceptable Here' : 'Bad Request', 'no-common-codec', sdpFailureWarning(probe.reason));
    return {
      direction: 'inbound', kind: 'sip', tenantId: route.tenantId, agent, cancelled: call.cancelled,
      record: {
        agentId: agent.id, numberId: route.numberId, direction: 'inbound',
        fromUri: headerUri(call.request.headers.get('from')), toUri: headerUri(call.request.headers.get('to')), sipCallId: call.request.headers.get('call-id') ?? '',
      },
      ring: async () => {
        call.progress(180);
        if (this.options.ringMs) await sleep(this.options.ringMs, call.cancelled);
      },
      rtp: {
        codec: { name: probe.codec.name, payloadType: probe.codec.payloadType },
        ...(probe.telephoneEvent ? { telephoneEventPayloadType: probe.telephoneEvent.payloadType } : {}),
        ...(probe.comfortNoise ? { comfortNoisePayloadType: probe.comfortNoise.payloadType } : {}),
        ...(probe.srtp ? { srtp: probe.srtp } : {}),
        remote: { address: probe.remote.address, port: probe.remote.port, rtcpPort: probe.remote.rtcpPort },
        // The RTP source rule: media may latch only from the SDP address or where this INVITE came from.
        signallingAddress: call.source.address,
        inactivityTimeoutMs: this.options.rtpTimeoutMs, send: probe.send, receive: probe.receive,
      },
      carrier: hostPort(call.source.address, call.source.port),
      connect: async (rtp, local) => {
        const answer = answerOffer(offer, {
          address: local.address, port: rtp.localPort, sessionId: local.sessionId, sessionVersion: 1,
          // The key the RTP session already protects with.
          ...(srtp ? { srtp } : {}), ...(probe.srtp ? { srtpSendKey: probe.srtp.sendKey } : {}),
        });
        if (!answer.ok) throw new SetupFailure(488, 'Not Acceptable Here', 'no-common-codec', sdpFailureWarning(answer.reason));
        const dialog = call.accept(answer.sdp);
        onAccepted();
        return { dialog, negotiated: answer };
      },
    };
  }

  // ------------------------------------------------------------ outbound

  /** Places a call through a carrier; resolves with the answered call, rejects with the SIP failure. */
  async placeCall(options: PlaceCallOptions): Promise<SipCallSession> {
    const { db, logger } = this.options;
    if (this.draining) throw new CallManagerError('the server is draining (shutting down): no new calls');
    const via = parseUri(options.via);
    if (!via || !isSipUri(via)) throw new CallManagerError(`--via must be a SIP URI such as sip:carrier.example:5060 (got ${options.via})`);
    const agent = await getAgent(db, options.tenantId, options.agent);
    if (!agent) throw new CallManagerError(`no agent "${options.agent}" in tenant ${options.tenantId}`);
    const transport = (via.params.transport ?? '').toLowerCase();
    const number = stripPunctuation(options.number);
    const uri = `sip:${number}@${via.host}${via.port ? `:${via.port}` : ''}${transport ? `;transport=${transport}` : ''}`;
    // TCPA: do-not-call, consent, caller ID, calling hours; a refusal is audited and throws OutboundRefusedError.
    const { callerNumber } = await assertOutboundAllowed(db, options.tenantId, { number, from: options.from, actor: options.actor ?? 'system:call-manager', timeZone: options.timeZone });
    const host = this.mediaAddress.includes(':') ? `[${this.mediaAddress}]` : this.mediaAddress;
    const from = options.from ?? `sip:${callerNumber}@${host}`;
    let earlyMedia = false;
    const session = await this.establishSip({
      direction: 'outbound', kind: 'sip', tenantId: options.tenantId, agent,
      record: { agentId: agent.id, direction: 'outbound', fromUri: from, toUri: uri, sipCallId: '' },
      rtp: {
        // Opened at our first offered codec's rate (G.722, 16 kHz); the answer's codec sets the rate (adoptRate below).
        codec: { name: 'G722', payloadType: 9 }, telephoneEventPayloadType: 101,
        inactivityTimeoutMs: this.options.rtpTimeoutMs,
        // The RTP source rule: media may latch only from the answer's SDP address or the carrier we call through.
        signallingAddress: via.host.replace(/^\[|\]$/g, ''),
      },
      carrier: `${via.host}${via.port ? `:${via.port}` : ''}`,
      connect: async (rtp, local) => {
        const localMedia = { address: local.address, port: rtp.localPort, sessionId: local.sessionId, sessionVersion: 1 };
        const applyAnswer = (sdp: string) => {
          const ans = readAnswer(sdp, localMedia);
          if (!ans.ok) return undefined;
          // No audio has flowed yet, so the session (and so the conversation and the recording) takes the codec's own rate.
          rtp.setCodec({ name: ans.codec.name, payloadType: ans.codec.payloadType }, ans.telephoneEvent?.payloadType, undefined, { adoptRate: true });
          rtp.setRemote({ address: ans.remote.address, port: ans.remote.port, rtcpPort: ans.remote.rtcpPort });
          rtp.setDirection({ send: ans.send, receive: ans.receive });
          return ans;
        };
        const dialog = await this.endpoint.invite({
          uri, from, sdp: createOffer(localMedia), timeoutMs: options.timeoutMs ?? 60_000,
          ...(options.auth ? { auth: options.auth } : {}),
          ...(options.signal ? { signal: options.signal } : {}),
          onEarlyMedia: (sdp) => { if (!earlyMedia && applyAnswer(sdp)) earlyMedia = true; },
        });
        const negotiated = dialog.remoteSdp ? applyAnswer(dialog.remoteSdp) : undefined;
        if (!negotiated) return { dialog, error: new CallManagerError('the callee answered without a usable SDP answer') };
        return { dialog, negotiated };
      },
    });
    if (earlyMedia) session.event('early-media', {});
    session.event('sip', { callId: session.dialog.callId });
    logger.child({ callId: session.callId, tenantId: session.tenantId }).info({ codec: session.codec }, 'outbound call answered');
    session.answered(this.runnerFor(agent, logger));
    return session;
  }

  // ------------------------------------------------------------ set-up, both directions

  /**
   * The one set-up path, for every way in. Resources are taken in order (tenant call slot, call row, then
   * what `open` takes: for SIP the RTP port and the dialog) and owned here until the CallSession that takes
   * them over exists; any failure before that, at any step, gives each one back in the `finally` (`open`'s
   * own through its `undo`, the row its end reason). A failure after it is the session's to handle (it ends
   * itself).
   */
  private async establish<S extends CallSession>(
    setup: CallSetup,
    open: (call: { recordId: string; step: (name: SetupStep) => void; taps: (info: Omit<CallInfo, 'callId' | 'tenantId' | 'agent' | 'direction'>) => CallTap[]; undo: (fn: () => Promise<void>) => void }) => Promise<S>,
  ): Promise<S> {
    const { db, logger } = this.options;
    const step = (name: SetupStep): void => {
      this.options.setupProbe?.(name);
      if (setup.cancelled?.aborted) throw new SetupFailure(487, 'Request Terminated', 'cancelled');
    };
    step('reserve');
    const release = await this.reserve(setup);
    if (typeof release !== 'function') {
      throw setup.direction === 'inbound'
        ? new SetupFailure(503, 'Service Unavailable', 'setup-failed')
        : new CallLimitError(setup.tenantId, release.refusedAt);
    }
    let recordId: string | undefined;
    const undo: (() => Promise<void>)[] = [];
    let session: S | undefined;
    let endReason: EndReason = 'setup-failed';
    let failure: string | undefined;
    try {
      step('record');
      recordId = (await startCall(db, setup.tenantId, { ...setup.record, ...(this.options.nodeId ? { nodeId: this.options.nodeId } : {}) })).id;
      const callId = recordId;
      const log = logger.child({ callId, tenantId: setup.tenantId });
      session = await open({
        recordId: callId, step, undo: (fn) => undo.unshift(fn),
        taps: (media) => this.tapsFor({ tenantId: setup.tenantId, callId, agent: setup.agent, direction: setup.direction, ...media }, log),
      });
      const owned = session;
      this.sessions.add(owned);
      owned.once('close', (reason) => {
        this.sessions.delete(owned);
        release();
        this.emit('call-ended', owned, reason);
      });
      this.emit('call-started', owned);
      return owned;
    } catch (error) {
      if (error instanceof SetupFailure) endReason = error.endReason;
      else if (setup.cancelled?.aborted) endReason = 'cancelled';
      else if (error instanceof SipCallError) {
        // The callee (or the carrier) answered our INVITE with a failure.
        endReason = 'rejected';
        failure = `sip:${error.status}`;
      }
      throw error;
    } finally {
      if (!session) {
        for (const fn of undo) await fn().catch(() => undefined);
        if (recordId) {
          await finishCall(db, setup.tenantId, recordId, { reason: endReason, ...(failure ? { failure } : {}) })
            .catch((error: unknown) => logger.warn({ err: error }, 'could not finish the record of a call that failed to set up'));
        }
        release();
      }
    }
  }

  /** A SIP call's set-up: ring, the RTP leg, offer/answer; the session over the dialog and RTP. */
  private establishSip(leg: CallLeg): Promise<SipCallSession> {
    const { db, logger } = this.options;
    return this.establish(leg, async ({ recordId, step, taps, undo }) => {
      if (leg.ring) {
        step('ring');
        await leg.ring();
      }
      step('rtp');
      const rtp = await this.openRtp(leg.rtp);
      undo(() => rtp.close().then(() => undefined));
      step('connect');
      const local = { address: this.mediaAddress, sessionId: String(Date.now()), version: 1 };
      const connected = await leg.connect(rtp, local);
      const dialog = connected.dialog;
      undo(async () => { if (dialog.state !== 'terminated') await byeLeft(dialog); });
      if (!connected.negotiated) throw connected.error;
      step('session');
      return new SipCallSession({
        db, logger, tenantId: leg.tenantId, agent: leg.agent, callId: recordId, direction: leg.direction, shareTurns: this.options.shareTurns ?? false,
        dialog, rtp, negotiated: connected.negotiated, local, carrier: leg.carrier, taps: taps({ kind: 'sip', sampleRate: rtp.sampleRate }),
      });
    });
  }

  /**
   * A call that came in (or went out) another way than SIP: a carrier WebSocket media stream, a WebRTC peer.
   * The transport is already connected; this runs the same set-up as a SIP call (the tenant's call limit,
   * the call row, the taps such as the recorder on the PCM the conversation sees, the agent's runner, the
   * end, the drain) and answers at once. The agent is named, or found by the called number (the tenant's
   * number). Throws TransportCallError ('draining', 'no-agent', 'call-limit'); the caller then closes its
   * transport itself (a transport whose far end hung up during set-up ends the call as soon as it exists).
   */
  async acceptTransportCall(options: TransportCallOptions): Promise<CallSession> {
    if (this.draining || this.closed) throw new TransportCallError('draining', 'the server is draining (shutting down): no new calls');
    this.admitting++;
    try {
      const { db, logger } = this.options;
      const direction = options.direction ?? 'inbound';
      let agent: AgentRow | undefined;
      let numberId: string | null = null;
      if (options.agent !== undefined) {
        agent = await getAgent(db, options.tenantId, options.agent);
      } else if (options.calledNumber !== undefined) {
        const route = await routeNumber(db, options.calledNumber);
        if (route && route.tenantId === options.tenantId) {
          numberId = route.numberId;
          agent = await getAgent(db, route.tenantId, route.agentId);
        }
      }
      if (!agent) throw new TransportCallError('no-agent', `no agent for this ${options.kind} call in tenant ${options.tenantId}`);
      const found = agent;
      const session = await this.establish({
        direction, kind: options.kind, tenantId: options.tenantId, agent: found,
        record: {
          agentId: found.id, numberId: options.numberId ?? numberId, direction,
          fromUri: options.from, toUri: options.to, sipCallId: options.externalCallId ?? '',
        },
      }, async ({ recordId, step, taps }) => {
        step('session');
        return new CallSession({
          db, logger, tenantId: options.tenantId, agent: found, callId: recordId, direction, shareTurns: this.options.shareTurns ?? false,
          transport: options.transport, taps: taps({ kind: options.kind, sampleRate: options.transport.sampleRate }),
          remoteParty: direction === 'inbound' ? options.from : options.to,
        });
      }).catch((error: unknown) => {
        if (error instanceof SetupFailure && error.status === 503) throw new TransportCallError('call-limit', `tenant ${options.tenantId} is at its concurrent call limit`);
        if (error instanceof CallManagerError && !(error instanceof TransportCallError)) throw new TransportCallError('call-limit', error.message);
        throw error;
      });
      session.event('transport', { kind: options.kind });
      logger.child({ callId: session.callId, tenantId: session.tenantId }).info({ kind: options.kind, direction }, 'call answered');
      session.answered(this.runnerFor(found, logger));
      return session;
    } finally {
      this.admitting--;
    }
  }

  /** Hangs up every call, stops listening, flushes the security log, releases the media thread (stopped with its last user). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // Each end() resolves once its BYE has left, so the sockets may close right after.
    await Promise.all([...this.sessions].map((s) => s.end('shutdown', true)));
    await this.endpoint.close();
    await this.securityLog.close();
    await this.releaseMedia?.();
  }
}

/** Request-URI user, else To user (sip/sips user part or tel number). */
export function calledNumber(req: SipRequest): string | undefined {
  const userOf = (uri: Uri | null | undefined): string | undefined => {
    if (!uri) return undefined;
    if (isSipUri(uri)) return uri.user || undefined;
    return 'number' in uri && uri.scheme === 'tel' ? uri.number || undefined : undefined;
  };
  const to = req.headers.get('to');
  return userOf(parseUri(req.uri)) ?? userOf(to ? parseNameAddr(to)?.uri : undefined);
}

function headerUri(value: string | undefined): string {
  if (!value) return '';
  const na = parseNameAddr(value);
  return na ? formatUri(na.uri) : value;
}

function hostPort(address: string, port: number): string {
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}

/** Sends a BYE and resolves once it has left (or has failed to). */
function byeLeft(dialog: Dialog): Promise<void> {
  return new Promise((resolve) => { void dialog.bye({ onSent: resolve }).then(() => resolve()); });
}

/** Resolves once `done()` holds or `ms` have passed (polled: calls end on their own schedule). */
async function until(done: () => boolean, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!done() && Date.now() < deadline) await new Promise((r) => setTimeout(r, Math.min(100, Math.max(1, deadline - Date.now()))));
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(done, ms);
    function done(): void { clearTimeout(t); signal.removeEventListener('abort', done); resolve(); }
    signal.addEventListener('abort', done, { once: true });
  });
}

/** CallManager options from the configuration. */
export function callManagerOptions(config: Config, db: Database, logger: Logger): CallManagerOptions {
  return {
    db,
    logger,
    host: config.SMARTALEX_SIP_HOST,
    port: config.SMARTALEX_SIP_PORT,
    ...(config.SMARTALEX_SIP_TLS_CERT && config.SMARTALEX_SIP_TLS_KEY
      ? { tls: { port: config.SMARTALEX_SIP_TLS_PORT, cert: readPemSetting('SMARTALEX_SIP_TLS_CERT', config.SMARTALEX_SIP_TLS_CERT), key: readPemSetting('SMARTALEX_SIP_TLS_KEY', config.SMARTALEX_SIP_TLS_KEY) } }
      : {}),
    ...(config.SMARTALEX_PUBLIC_ADDRESS ? { publicAddress: config.SMARTALEX_PUBLIC_ADDRESS } : {}),
    tlsClient: {
      rejectUnauthorized: config.SMARTALEX_SIP_TLS_VERIFY,
      // Extra roots are added to Node's list, so public carrier certificates still verify.
      ...(config.SMARTALEX_SIP_TLS_CA ? { ca: [...rootCertificates, readPemCertificates(config.SMARTALEX_SIP_TLS_CA) ?? ''] } : {}),
    },
    rtpPorts: { minPort: config.SMARTALEX_RTP_PORT_MIN, maxPort: config.SMARTALEX_RTP_PORT_MAX },
    rtpTimeoutMs: config.SMARTALEX_RTP_TIMEOUT_S * 1000,
    mediaThread: config.SMARTALEX_MEDIA_THREAD,
    ...(config.SMARTALEX_MEDIA_THREAD_NICE !== undefined ? { mediaThreadNiceness: config.SMARTALEX_MEDIA_THREAD_NICE } : {}),
    maxCallsPerTenant: config.SMARTALEX_MAX_CALLS_PER_TENANT,
    digestAlgorithms: config.SMARTALEX_SIP_DIGEST_ALGORITHMS,
    guard: { trustedSources: config.SMARTALEX_SIP_TRUSTED_SOURCES, ratePerSecond: config.SMARTALEX_SIP_GUARD_RATE, burst: config.SMARTALEX_SIP_GUARD_BURST },
    sipLimits: {
      messageTimeoutMs: config.SMARTALEX_SIP_MESSAGE_TIMEOUT_S * 1000,
      maxConnections: config.SMARTALEX_SIP_MAX_CONNECTIONS,
      maxConnectionsPerSource: config.SMARTALEX_SIP_MAX_CONNECTIONS_PER_SOURCE,
      maxPendingTransactions: config.SMARTALEX_SIP_MAX_PENDING_TRANSACTIONS,
    },
  };
}
