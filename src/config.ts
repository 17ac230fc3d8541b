/**
 * Configuration: environment variables, optionally layered over a JSON file
 * named by SMARTALEX_CONFIG (same keys; the environment wins). Validated once
 * at start-up with zod; a bad setting stops the process with one line naming
 * the setting and what is expected.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { z } from 'zod';
import { CidrError, parseCidr } from '../media/sip/cidr.ts';
import { parseDigestAlgorithms } from '../media/sip/digest.ts';
import { parseMasterKey } from '../storage/vault/keys.ts';

/** A port as text: digits only (so ' ' or '80.5' cannot slip through coercion), 0 asks the OS for a free one. */
const port = z.string().trim().regex(/^\d{1,5}$/, 'a port number 0-65535').transform(Number)
  .refine((n) => n <= 65535, 'must be a port number 0-65535');
const bool = z.enum(['true', 'false', '1', '0', 'yes', 'no']).transform((v) => ['true', '1', 'yes'].includes(v));
const optionalText = z.string().min(1).optional();
/** "MD5,SHA-256" -> ['MD5', 'SHA-256'] (the one parser the CLI and the numbers table use too). */
const digestAlgorithms = z.string().transform((text, ctx) => {
  try {
    return parseDigestAlgorithms(text);
  } catch (error) {
    ctx.addIssue({ code: 'custom', message: `must be MD5, SHA-256 or both, comma-separated, in challenge order: ${(error as Error).message}` });
    return z.NEVER;
  }
});
/** "192.0.2.10, 198.51.100.0/24" -> canonical CIDRs, each read by the one strict parser; a whole family is refused. */
const cidrList = z.string().transform((text, ctx) => {
  const entries = text.split(',').map((e) => e.trim()).filter((e) => e !== '');
  try {
    return entries.map((entry) => parseCidr(entry).text);
  } catch (error) {
    if (!(error instanceof CidrError)) throw error;
    ctx.addIssue({ code: 'custom', message: `must be IP addresses or CIDRs, comma-separated: ${error.message}` });
    return z.NEVER;
  }
});
/**
 * The public origin recording links are built on: http(s), no credentials, query or fragment; an
 * optional path prefix (a reverse proxy's) is kept, a trailing "/" dropped. Never the request's Host.
 */
const publicBaseUrl = z.string().transform((text, ctx) => {
  let url: URL | undefined;
  try { url = new URL(text); } catch { /* reported below */ }
  if (!url || !['http:', 'https:'].includes(url.protocol) || url.username || url.password || url.search || url.hash || text.includes('?') || text.includes('#')) {
    ctx.addIssue({ code: 'custom', message: 'must be an http:// or https:// URL without credentials, query or fragment, e.g. https://media.example.com' });
    return z.NEVER;
  }
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
});

const schema = z.object({
  /** Loopback by default: plain HTTP elsewhere needs SMARTALEX_HTTP_TLS_CERT/KEY or SMARTALEX_HTTP_ALLOW_PLAIN=true. */
  SMARTALEX_HTTP_HOST: z.string().min(1).default('127.0.0.1'),
  SMARTALEX_HTTP_PORT: port.default(8080),
  /** HTTPS for the HTTP server (API, health, metrics, recording links): a PEM certificate chain and its private key (files or PEM text). Both or neither. */
  SMARTALEX_HTTP_TLS_CERT: optionalText,
  SMARTALEX_HTTP_TLS_KEY: optionalText,
  /** Serve plain HTTP on an address other than loopback (behind a TLS-terminating proxy). Default false: without a certificate, the HTTP server binds loopback only. */
  SMARTALEX_HTTP_ALLOW_PLAIN: bool.default(false),
  /** Control-plane sessions end after this many minutes without a request (server-side). */
  SMARTALEX_SESSION_IDLE_MINUTES: z.coerce.number().int().positive().max(24 * 60).default(30),
  /** ...and this many hours after login, used or not. */
  SMARTALEX_SESSION_MAX_HOURS: z.coerce.number().int().positive().max(24 * 30).default(12),
  /** The session signing key changes this often; the previous keys stay accepted until their tokens expire. */
  SMARTALEX_SESSION_KEY_ROTATION_HOURS: z.coerce.number().int().positive().max(24 * 90).default(24),
  /** Default hours a rotated API key's old secret keeps working (a rotation request may state its own). */
  SMARTALEX_API_KEY_ROTATION_GRACE_HOURS: z.coerce.number().int().min(0).max(24 * 30).default(24),
  SMARTALEX_SIP_HOST: z.string().min(1).default('0.0.0.0'),
  SMARTALEX_SIP_PORT: port.default(5060),
  /** Address written into SDP and Contact when the bind address is a wildcard. */
  SMARTALEX_PUBLIC_ADDRESS: optionalText,
  /**
   * Browser calls (WebRTC): the address the ICE sockets bind and announce as host candidates. Default:
   * SMARTALEX_PUBLIC_ADDRESS, else the HTTP bind address (every interface when that is a wildcard).
   */
  SMARTALEX_WEBRTC_ADDRESS: optionalText,
  /**
   * Browser calls: the UDP ports ICE may bind (both or neither; a firewall opens this range). Unset: any port the
   * OS gives. Each call takes one port.
   */
  SMARTALEX_WEBRTC_PORT_MIN: port.optional(),
  SMARTALEX_WEBRTC_PORT_MAX: port.optional(),
  /** Browser calls: signalling connections (/v1/webrtc) accepted per source address per minute, cluster-wide. */
  SMARTALEX_WEBRTC_CONNECTIONS_PER_MINUTE: z.coerce.number().int().positive().max(10_000).default(20),
  /** Web-widget keys may allow http://localhost origins (local development only). */
  SMARTALEX_WIDGET_ALLOW_LOCALHOST: bool.default(false),
  /** Call tokens one web-widget key may mint per minute, cluster-wide. */
  SMARTALEX_WIDGET_TOKENS_PER_MINUTE: z.coerce.number().int().positive().max(100_000).default(60),
  /** Widget call-token requests (preflights included) accepted per source address per minute, cluster-wide. */
  SMARTALEX_WIDGET_REQUESTS_PER_SOURCE_PER_MINUTE: z.coerce.number().int().positive().max(10_000).default(20),
  /** Origin (and optional path prefix) of the HTTP API as clients reach it; recording links are built on it. */
  SMARTALEX_PUBLIC_BASE_URL: publicBaseUrl.optional(),
  SMARTALEX_SIP_TLS_PORT: port.default(5061),
  SMARTALEX_SIP_TLS_CERT: optionalText,
  SMARTALEX_SIP_TLS_KEY: optionalText,
  /** Digest algorithms a 401 offers, in order, and the only ones accepted, for numbers without their own list. */
  SMARTALEX_SIP_DIGEST_ALGORITHMS: digestAlgorithms.default(['MD5']),
  /**
   * CA certificates (a PEM file, or PEM text) trusted for the TLS connections the server opens (outbound calls, and
   * in-dialog requests once the caller's own connection has closed), in addition to Node's built-in list.
   */
  SMARTALEX_SIP_TLS_CA: optionalText,
  /**
   * Verify the peer's certificate on the TLS connections the server opens. Default true: without it, signalling could
   * be handed to whoever answers at the address. false accepts any certificate (encrypted, not authenticated): labs only.
   */
  SMARTALEX_SIP_TLS_VERIFY: bool.default(true),
  /** A SIP message over TCP/TLS (and a TLS handshake) must be complete this many seconds after its first byte, or the connection is closed (slowloris). */
  SMARTALEX_SIP_MESSAGE_TIMEOUT_S: z.coerce.number().positive().max(300).default(5),
  /** Open SIP TCP/TLS connections at most, all sources together. */
  SMARTALEX_SIP_MAX_CONNECTIONS: z.coerce.number().int().positive().default(1000),
  /** Accepted SIP TCP/TLS connections per source address at most; the next one is closed at once. */
  SMARTALEX_SIP_MAX_CONNECTIONS_PER_SOURCE: z.coerce.number().int().positive().default(64),
  /**
   * Sources the SIP flood guard never rate-limits or bans (addresses or CIDRs, comma-separated): the Kamailio proxies
   * in front of a node (every call reaches it from them) and carriers' signalling addresses. Everyone else is held to
   * SMARTALEX_SIP_GUARD_RATE.
   */
  SMARTALEX_SIP_TRUSTED_SOURCES: cidrList.default([]),
  /** SIP messages (datagrams, stream messages, connections) per second per untrusted source; beyond the burst the source is banned for 60 s. */
  SMARTALEX_SIP_GUARD_RATE: z.coerce.number().positive().default(20),
  SMARTALEX_SIP_GUARD_BURST: z.coerce.number().int().positive().default(40),
  /** SIP server transactions at most for requests not admitted yet (new INVITEs until answered, requests outside a dialog); beyond it: a stateless 503 with Retry-After. */
  SMARTALEX_SIP_MAX_PENDING_TRANSACTIONS: z.coerce.number().int().positive().default(5000),
  SMARTALEX_RTP_PORT_MIN: port.default(10000),
  SMARTALEX_RTP_PORT_MAX: port.default(20000),
  /** A call whose RTP stops for this long is ended with BYE. */
  SMARTALEX_RTP_TIMEOUT_S: z.coerce.number().positive().default(30),
  /** Run RTP (sockets, pacing, G.711, jitter buffers) in one dedicated media thread, away from the main thread's lag and GC; false: on the main thread. */
  SMARTALEX_MEDIA_THREAD: bool.default(true),
  /** Nice value for the media thread (-20..19); lower runs it ahead of the server's other threads when cores are busy. Needs CAP_SYS_NICE to go below 0; without it the thread keeps its priority and says so in the log. Unset: inherited. */
  SMARTALEX_MEDIA_THREAD_NICE: z.coerce.number().int().min(-20).max(19).optional(),
  /** Concurrent calls per tenant (both directions); beyond it new calls get 503. */
  SMARTALEX_MAX_CALLS_PER_TENANT: z.coerce.number().int().positive().default(50),
  /** On SIGTERM: how long calls in progress may go on by themselves before the agent says goodbye and hangs up (src/calls/call-manager.ts drain). */
  SMARTALEX_DRAIN_TIMEOUT_S: z.coerce.number().nonnegative().max(86_400).default(600),
  /** This node's id in the cluster (cluster_nodes, calls.node_id). Unset: the host name and a random suffix, new each start. */
  SMARTALEX_NODE_ID: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'letters, digits, ".", "_" or "-" (at most 64)').optional(),
  /** How often the node writes its heartbeat row (and tries to take the cluster lead). */
  SMARTALEX_NODE_HEARTBEAT_S: z.coerce.number().positive().max(300).default(5),
  /** A node whose heartbeat is older than this is lost: its call leases stop counting and the leader's reaper ends its calls (node-lost). */
  SMARTALEX_NODE_TIMEOUT_S: z.coerce.number().positive().max(3600).default(30),
  DATABASE_URL: z.string().regex(/^postgres(ql)?:\/\//, 'a postgres:// URL').optional(),
  /** Optional separate login for the runtime role; otherwise the owner login switches role per transaction. */
  SMARTALEX_APP_DATABASE_URL: z.string().regex(/^postgres(ql)?:\/\//, 'a postgres:// URL').optional(),
  SMARTALEX_DB_APP_ROLE: z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/, 'a lower-case Postgres role name').default('smartalex_app'),
  SMARTALEX_DATA_DIR: z.string().min(1).default('./data'),
  /** 32 bytes, base64 or hex. Without it the embedded default keeps a 0600 key file in the data directory. */
  SMARTALEX_MASTER_KEY: optionalText,
  /** Recordings in this S3-compatible bucket (multipart upload as the call goes) instead of <data dir>/recordings; every node of a cluster must use the same one. */
  SMARTALEX_RECORDINGS_S3_BUCKET: z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'an S3 bucket name').optional(),
  /** Key prefix inside the bucket, e.g. "recordings/". */
  SMARTALEX_RECORDINGS_S3_PREFIX: z.string().regex(/^[A-Za-z0-9._/-]{0,200}$/, 'letters, digits, ".", "_", "-" and "/"').optional(),
  /** The S3 API endpoint for a non-AWS store (MinIO, Ceph, ...), e.g. https://s3.example.com. Unset: AWS. */
  SMARTALEX_RECORDINGS_S3_ENDPOINT: z.string().regex(/^https?:\/\//, 'an http(s):// URL').optional(),
  SMARTALEX_RECORDINGS_S3_REGION: z.string().min(1).default('us-east-1'),
  /** Path-style requests (http://endpoint/bucket/key), which most non-AWS stores need. */
  SMARTALEX_RECORDINGS_S3_PATH_STYLE: bool.default(false),
  /** How often `serve` deletes recordings past their retention deadline. */
  SMARTALEX_RETENTION_SWEEP_MINUTES: z.coerce.number().positive().max(10080).default(60),
  /** The ops view's `smartalex bench` reports: JSON files here and one directory down (tools/bench/run-all.sh writes bench-results/<time>/). */
  SMARTALEX_BENCH_REPORTS_DIR: z.string().min(1).default('bench-results'),
  /** How long a GDPR export's ZIP made through the API is kept after the export finished; then it is deleted and the export reads expired. */
  SMARTALEX_GDPR_EXPORT_RETENTION_HOURS: z.coerce.number().positive().max(720).default(24),
  /** Let webhook endpoints resolve to loopback addresses (tests, local development); private and link-local stay refused. */
  SMARTALEX_WEBHOOK_ALLOW_LOOPBACK: bool.default(false),
  /** Per-attempt webhook timeout. */
  SMARTALEX_WEBHOOK_TIMEOUT_MS: z.coerce.number().int().min(100).max(60_000).default(10_000),
  /** The carrier campaigns dial through (a SIP URI, e.g. sip:carrier.example:5060). Unset: running campaigns are not dialled. */
  SMARTALEX_CAMPAIGN_VIA: z.string().regex(/^sips?:/, 'a SIP URI such as sip:carrier.example:5060').optional(),
  /** Digest credentials for the campaign carrier, when it challenges. */
  SMARTALEX_CAMPAIGN_SIP_USERNAME: optionalText,
  SMARTALEX_CAMPAIGN_SIP_PASSWORD: optionalText,
  /** How long a campaign call may ring before it counts as no answer. */
  SMARTALEX_CAMPAIGN_RING_TIMEOUT_S: z.coerce.number().positive().max(300).default(30),
  /** How often the campaign runner looks for running campaigns and contacts that came due. */
  SMARTALEX_CAMPAIGN_POLL_MS: z.coerce.number().int().min(20).max(60_000).default(1000),
  SMARTALEX_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  SMARTALEX_DEMO: bool.default(true),
  DEEPGRAM_API_KEY: optionalText,
  DEEPGRAM_BASE_URL: optionalText,
  OPENAI_API_KEY: optionalText,
  OPENAI_BASE_URL: optionalText,
  SMARTALEX_LLM_MODEL: z.string().min(1).default('gpt-4o-mini'),
});

export type Config = z.infer<typeof schema>;

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Secret settings: never printed, never logged. */
export const SECRET_SETTINGS = ['DATABASE_URL', 'SMARTALEX_APP_DATABASE_URL', 'SMARTALEX_MASTER_KEY', 'DEEPGRAM_API_KEY', 'OPENAI_API_KEY', 'SMARTALEX_CAMPAIGN_SIP_PASSWORD'] as const;

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  let fromFile: Record<string, unknown> = {};
  if (env.SMARTALEX_CONFIG) {
    const path = resolve(env.SMARTALEX_CONFIG);
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch {
      throw new ConfigError(`SMARTALEX_CONFIG: cannot read config file ${path}`);
    }
    try {
      const parsed: unknown = JSON.parse(text);
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not an object');
      fromFile = Object.fromEntries(Object.entries(parsed).map(([k, v]) => [k, typeof v === 'string' ? v : String(v)]));
    } catch {
      throw new ConfigError(`SMARTALEX_CONFIG: ${path} must be a JSON object of settings, e.g. {"SMARTALEX_HTTP_PORT": 8080}`);
    }
  }
  const merged: Record<string, unknown> = { ...fromFile };
  for (const key of Object.keys(schema.shape)) {
    const value = env[key];
    if (value !== undefined && value !== '') merged[key] = value;
  }
  const result = schema.safeParse(merged);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const key = String(issue.path[0] ?? 'config');
    const secret = (SECRET_SETTINGS as readonly string[]).includes(key);
    // Never echo a secret setting, nor any value that carries URL credentials (scheme://user:password@...).
    const credentials = typeof merged[key] === 'string' && /:\/\/[^/]*@/.test(merged[key] as string);
    const got = secret || credentials || merged[key] === undefined ? '' : ` (got ${JSON.stringify(merged[key])})`;
    throw new ConfigError(`${key}: ${describeIssue(issue)}${got}`);
  }
  const config = result.data;
  const webRtcPorts = [config.SMARTALEX_WEBRTC_PORT_MIN, config.SMARTALEX_WEBRTC_PORT_MAX];
  if (webRtcPorts.filter((p) => p !== undefined).length === 1) {
    throw new ConfigError('SMARTALEX_WEBRTC_PORT_MIN: set it together with SMARTALEX_WEBRTC_PORT_MAX (the ICE port range), or neither');
  }
  if (config.SMARTALEX_WEBRTC_PORT_MIN !== undefined && config.SMARTALEX_WEBRTC_PORT_MAX !== undefined
    && (config.SMARTALEX_WEBRTC_PORT_MIN === 0 || config.SMARTALEX_WEBRTC_PORT_MIN > config.SMARTALEX_WEBRTC_PORT_MAX)) {
    throw new ConfigError(`SMARTALEX_WEBRTC_PORT_MIN: must be 1-65535 and at most SMARTALEX_WEBRTC_PORT_MAX (got ${config.SMARTALEX_WEBRTC_PORT_MIN} and ${config.SMARTALEX_WEBRTC_PORT_MAX})`);
  }
  if (config.SMARTALEX_RTP_PORT_MIN >= config.SMARTALEX_RTP_PORT_MAX) {
    throw new ConfigError(`SMARTALEX_RTP_PORT_MIN: must be below SMARTALEX_RTP_PORT_MAX (got ${config.SMARTALEX_RTP_PORT_MIN} and ${config.SMARTALEX_RTP_PORT_MAX})`);
  }
  if (config.SMARTALEX_NODE_TIMEOUT_S <= 2 * config.SMARTALEX_NODE_HEARTBEAT_S) {
    throw new ConfigError(`SMARTALEX_NODE_TIMEOUT_S: must be more than twice SMARTALEX_NODE_HEARTBEAT_S, so one late heartbeat does not lose the node (got ${config.SMARTALEX_NODE_TIMEOUT_S} and ${config.SMARTALEX_NODE_HEARTBEAT_S})`);
  }
  if (config.SMARTALEX_MASTER_KEY !== undefined) {
    // Checked here so a malformed key stops start-up, not the first recording; the message never echoes the key.
    try {
      parseMasterKey(config.SMARTALEX_MASTER_KEY, 'SMARTALEX_MASTER_KEY:');
    } catch (error) {
      throw new ConfigError(error instanceof Error ? error.message : 'SMARTALEX_MASTER_KEY: must be 32 bytes as base64 or hex');
    }
  }
  if (Boolean(config.SMARTALEX_SIP_TLS_CERT) !== Boolean(config.SMARTALEX_SIP_TLS_KEY)) {
    throw new ConfigError('SMARTALEX_SIP_TLS_CERT: TLS needs both SMARTALEX_SIP_TLS_CERT and SMARTALEX_SIP_TLS_KEY');
  }
  if (Boolean(config.SMARTALEX_HTTP_TLS_CERT) !== Boolean(config.SMARTALEX_HTTP_TLS_KEY)) {
    throw new ConfigError('SMARTALEX_HTTP_TLS_CERT: HTTPS needs both SMARTALEX_HTTP_TLS_CERT and SMARTALEX_HTTP_TLS_KEY');
  }
  if (!config.SMARTALEX_HTTP_TLS_CERT && !config.SMARTALEX_HTTP_ALLOW_PLAIN && !isLoopbackHost(config.SMARTALEX_HTTP_HOST)) {
    throw new ConfigError(`SMARTALEX_HTTP_HOST: plain HTTP is served on loopback only (got ${JSON.stringify(config.SMARTALEX_HTTP_HOST)}); configure SMARTALEX_HTTP_TLS_CERT and SMARTALEX_HTTP_TLS_KEY, or set SMARTALEX_HTTP_ALLOW_PLAIN=true behind a TLS-terminating proxy`);
  }
  if (config.SMARTALEX_SIP_TLS_CA !== undefined && !readPemCertificates(config.SMARTALEX_SIP_TLS_CA)) {
    throw new ConfigError(`SMARTALEX_SIP_TLS_CA: must be a readable PEM file of CA certificates (got ${JSON.stringify(config.SMARTALEX_SIP_TLS_CA)})`);
  }
  return config;
}

/** True for an address only this machine can reach (127.0.0.0/8, ::1, localhost). */
export function isLoopbackHost(host: string): boolean {
  const h = host.trim().toLowerCase().replace(/^\[|\]$/g, '');
  return h === 'localhost' || h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h) || /^::ffff:127\./.test(h);
}

/** PEM certificates from a file path or inline PEM text; undefined when there are none. */
export function readPemCertificates(value: string): string | undefined {
  let text = value;
  if (!value.includes('-----BEGIN')) {
    try { text = readFileSync(value, 'utf8'); } catch { return undefined; }
  }
  return text.includes('-----BEGIN CERTIFICATE-----') ? text : undefined;
}

function describeIssue(issue: z.core.$ZodIssue): string {
  if (issue.code === 'invalid_value') return `must be one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
  if (issue.code === 'too_small' || issue.code === 'too_big') {
    return issue.message.replace(/^Too (small|big): expected \w+ to (have|be) /i, 'must be ');
  }
  if (issue.code === 'invalid_type') return `must be ${issue.expected === 'number' ? 'a number' : `a ${issue.expected}`}`;
  if (issue.code === 'invalid_format') return `must be ${issue.message.replace(/^Invalid string: must match pattern .*$/, 'well-formed')}`;
  return issue.message;
}
