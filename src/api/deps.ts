/** What the control plane needs from the process (server wiring or a test harness builds it). */
import type { FastifyRateLimitStoreCtor } from '@fastify/rate-limit';
import type { Database } from '../../storage/index.ts';
import type { ObjectStore, RecordingVault } from '../../storage/vault/index.ts';
import type { GdprExportJobs } from '../gdpr/export-jobs.ts';
import type { KeyRing } from '../../storage/vault/index.ts';
import type { Logger } from '../log.ts';
import type { Clock } from './clock.ts';

export interface ControlPlaneSettings {
  /** A session unused for this long is over (server-side). Default 30 min. */
  sessionIdleMs: number;
  /** A session is over this long after login, used or not. Default 12 h. */
  sessionMaxMs: number;
  /** How often the session signing key changes. Default 24 h. */
  signingKeyRotationMs: number;
  /** Default grace period for a rotated API key's old secret. Default 24 h. */
  apiKeyRotationGraceMs: number;
  /** Invitation / setup links are valid this long. Default 72 h. */
  invitationTtlMs: number;
  /** Origin links are built on (invitations); optional. */
  publicBaseUrl?: string;
  /** Webhook endpoints may point at loopback (tests, local development: SMARTALEX_WEBHOOK_ALLOW_LOOPBACK). Default false. */
  webhookAllowLoopback: boolean;
  /** Where `smartalex bench` JSON reports are read for the ops view (SMARTALEX_BENCH_REPORTS_DIR); unset: none. */
  benchReportsDir?: string;
  /** Web-widget keys may allow http://localhost origins (SMARTALEX_WIDGET_ALLOW_LOCALHOST). Default false. */
  widgetAllowLocalhost: boolean;
  /** Call tokens one widget key may mint per minute, cluster-wide. Default 60. */
  widgetTokensPerKeyPerMinute: number;
  /** Widget call-token requests (preflights included) per source address per minute, cluster-wide. Default 20. */
  widgetRequestsPerSourcePerMinute: number;
}

export const DEFAULT_SETTINGS: ControlPlaneSettings = {
  sessionIdleMs: 30 * 60_000,
  sessionMaxMs: 12 * 3600_000,
  signingKeyRotationMs: 24 * 3600_000,
  apiKeyRotationGraceMs: 24 * 3600_000,
  invitationTtlMs: 72 * 3600_000,
  webhookAllowLoopback: false,
  widgetAllowLocalhost: false,
  widgetTokensPerKeyPerMinute: 60,
  widgetRequestsPerSourcePerMinute: 20,
};

/**
 * Services route modules may need beyond the database (the resources routes add
 * theirs here, e.g. the recording vault for links). Optional: a route whose
 * service is missing answers 503.
 */
export interface ControlPlaneServices {
  /** Seals TOTP secrets with the tenant's key (the recording vault's key ring); without it 2FA enrolment answers 503. */
  keyRing?: Pick<KeyRing, 'sealTenantSecret' | 'unsealTenantSecret'>;
  [name: string]: unknown;
  /** Where recording objects live: deleting a call, a contact or a recording takes them with it. */
  recordingStore?: ObjectStore;
  /** Signs WebRTC call tokens (src/webrtc/call-token.ts); without it minting one answers 503. */
  callTokenSecret?: Buffer;
  /** The HKDF-derived secret recording links are signed with (storage/vault/links.ts); without it minting answers 503. */
  recordingLinkSecret?: Buffer;
  /** Runs GDPR export jobs (src/gdpr/export-jobs.ts); without it the export routes answer 503. */
  gdprExports?: GdprExportJobs;
  /** The recording vault (keys and objects): erasing the whole account destroys the tenant's keys through it. */
  recordingVault?: RecordingVault;
}

/** The server's coalesced security log (src/calls/security-log.ts): requests that prove no tenant. */
export interface SecurityEventSink {
  record(event: { type: string; source: string }): void;
}

export interface ControlPlaneDeps {
  db: Database;
  logger: Logger;
  clock: Clock;
  settings: ControlPlaneSettings;
  /** 32+ bytes of secret from which the session signing keys are derived (never stored, never logged). */
  sessionSecret: Buffer;
  services: ControlPlaneServices;
  /** Where per-route rate limits (ApiRoute.rateLimit) are counted; default in this process. */
  rateLimitStore?: FastifyRateLimitStoreCtor;
  /** Failed authentications (no, unknown or expired credential) are recorded here as `api.unauthenticated`. */
  securityLog?: SecurityEventSink;
}

/** The settings from configuration (src/config.ts). */
export function controlPlaneSettings(config: {
  SMARTALEX_SESSION_IDLE_MINUTES: number; SMARTALEX_SESSION_MAX_HOURS: number; SMARTALEX_SESSION_KEY_ROTATION_HOURS: number;
  SMARTALEX_API_KEY_ROTATION_GRACE_HOURS: number; SMARTALEX_PUBLIC_BASE_URL?: string | undefined; SMARTALEX_WEBHOOK_ALLOW_LOOPBACK?: boolean;
  SMARTALEX_BENCH_REPORTS_DIR?: string | undefined;
  SMARTALEX_WIDGET_ALLOW_LOCALHOST?: boolean; SMARTALEX_WIDGET_TOKENS_PER_MINUTE?: number; SMARTALEX_WIDGET_REQUESTS_PER_SOURCE_PER_MINUTE?: number;
}): ControlPlaneSettings {
  return {
    ...DEFAULT_SETTINGS,
    sessionIdleMs: config.SMARTALEX_SESSION_IDLE_MINUTES * 60_000,
    sessionMaxMs: config.SMARTALEX_SESSION_MAX_HOURS * 3600_000,
    signingKeyRotationMs: config.SMARTALEX_SESSION_KEY_ROTATION_HOURS * 3600_000,
    apiKeyRotationGraceMs: config.SMARTALEX_API_KEY_ROTATION_GRACE_HOURS * 3600_000,
    webhookAllowLoopback: config.SMARTALEX_WEBHOOK_ALLOW_LOOPBACK === true,
    widgetAllowLocalhost: config.SMARTALEX_WIDGET_ALLOW_LOCALHOST === true,
    widgetTokensPerKeyPerMinute: config.SMARTALEX_WIDGET_TOKENS_PER_MINUTE ?? DEFAULT_SETTINGS.widgetTokensPerKeyPerMinute,
    widgetRequestsPerSourcePerMinute: config.SMARTALEX_WIDGET_REQUESTS_PER_SOURCE_PER_MINUTE ?? DEFAULT_SETTINGS.widgetRequestsPerSourcePerMinute,
    ...(config.SMARTALEX_PUBLIC_BASE_URL ? { publicBaseUrl: config.SMARTALEX_PUBLIC_BASE_URL } : {}),
    ...(config.SMARTALEX_BENCH_REPORTS_DIR ? { benchReportsDir: config.SMARTALEX_BENCH_REPORTS_DIR } : {}),
  };
}
