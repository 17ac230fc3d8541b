/**
 * The database schema (drizzle-orm). Every table holding a tenant's data has a
 * `tenant_id` column, forced row-level security and a tenant policy; those live
 * in the checked-in migrations (storage/migrations/0001_rls.sql), and
 * test/storage/catalog.test.ts fails if a new tenant table lacks them.
 *
 * Secrets are never stored in plain text: API keys as SHA-256 hashes with a
 * visible prefix, passwords as scrypt hashes, SIP digest credentials as HA1
 * hashes, trunk passwords sealed by the key ring.
 */
import { sql } from 'drizzle-orm';
import {
  bigint, bigserial, boolean, check, customType, index, integer, jsonb, pgEnum, pgTable, primaryKey, real, text, timestamp, unique, uniqueIndex, uuid,
} from 'drizzle-orm/pg-core';

const bytea = customType<{ data: Buffer; driverData: Buffer | Uint8Array }>({
  dataType: () => 'bytea',
  fromDriver: (value) => Buffer.from(value),
});

const createdAt = () => timestamp('created_at', { withTimezone: true }).notNull().defaultNow();
const tenantRef = () => uuid('tenant_id').notNull().references(() => tenants.id, { onDelete: 'cascade' });

export const userRole = pgEnum('user_role', ['owner', 'admin', 'manager', 'viewer']);
export const callDirection = pgEnum('call_direction', ['inbound', 'outbound']);
export const agentMode = pgEnum('agent_mode', ['conversation', 'echo', 'greeting']);

export const tenants = pgTable('tenants', {
  id: uuid('id').primaryKey(),
  name: text('name').notNull(),
  plan: text('plan').notNull().default('professional'),
  /** Default recording retention; the seeds' plans: 30, 90 or 365 days. */
  retentionDays: integer('retention_days').notNull().default(30),
  maxConcurrentCalls: integer('max_concurrent_calls').notNull().default(20),
  createdAt: createdAt(),
  /**
   * Outbound calling policy (TCPA "Calling Hours" and "Consent Tracking"; rules
   * in src/compliance/outbound-policy.ts). One per tenant, so columns here: the
   * tenant row's own forced RLS covers them. Calls may be placed from
   * `outbound_window_start` (inclusive) to `outbound_window_end` (exclusive,
   * '24:00' = midnight), local time in `outbound_timezone` (IANA, checked with
   * Intl when set), on `outbound_days`. Defaults: the TCPA's 8 a.m. to 9 p.m.,
   * every day, America/New_York, prior consent required.
   */
  outboundTimezone: text('outbound_timezone').notNull().default('America/New_York'),
  outboundWindowStart: text('outbound_window_start').notNull().default('08:00'),
  outboundWindowEnd: text('outbound_window_end').notNull().default('21:00'),
  outboundDays: text('outbound_days').array().notNull().default(sql`'{mon,tue,wed,thu,fri,sat,sun}'::text[]`),
  outboundRequireConsent: boolean('outbound_require_consent').notNull().default(true),
  /** Owners and admins must enrol TOTP 2FA before using the API (src/api/auth). */
  require2fa: boolean('require_2fa').notNull().default(false),
  /** ISO 3166 alpha-2: where a contact's number written without + is read (0013_contact_attributes.sql). */
  defaultCountry: text('default_country').notNull().default('US'),
}, (t) => [
  check('tenants_default_country', sql`${t.defaultCountry} ~ '^[A-Z]{2}$'`),
  check('tenants_outbound_window', sql`${t.outboundWindowStart} ~ '^([01][0-9]|2[0-3]):[0-5][0-9]$' and ${t.outboundWindowEnd} ~ '^(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$' and ${t.outboundWindowStart} collate "C" < ${t.outboundWindowEnd} collate "C"`),
  check('tenants_outbound_days', sql`cardinality(${t.outboundDays}) > 0 and ${t.outboundDays} <@ '{mon,tue,wed,thu,fri,sat,sun}'::text[]`),
]);

export const users = pgTable('users', {
  id: uuid('id').primaryKey().defaultRandom(),
  tenantId: tenantRef(),
  email: text('email').notNull(),
  role: userRole('role').notNull(),
  /** Argon2id (PHC string); NULL until the user sets one (invitation, setup link). */
  passwordHash: text('password_hash'),
  totpEnabled: boolean('totp_enabled').notNull().default(false),
  createdAt: createdAt(),
  /** The confirmed TOTP secret, sealed by the tenant key ring (label totp/<user id>); totp_key_id names the key version. */
  totpSecretSealed: bytea('totp_secret_sealed'),
  totpKeyId: text('totp_key_id'),
  /** An enrolment not yet confirmed by a first code. */
  totpPendingSealed: bytea('totp_pending_sealed'),
  totpPendingKeyId: text('totp_pending_key_id'),
  /** The last accepted TOTP time step: a code is not accepted twice. */
  totpLastStep: bigint('totp_last_step', { mode: 'number' }),
  disabledAt: timestamp('disabled_at', { withTimezone: true }),
}, (t) => [unique('users_tenant_email').on(t.tenantId, t.email)]);

/** One-time 2FA recovery codes, stored as SHA-256 hashes (the codes are 60-bit random). */
export const userRecoveryCodes = pgTable('user_recovery_codes', {
  id: uuid('id').primaryKey().defaultRandom(),
  tenantId: tenantRef(),
  userId: uuid('user_id').notNull().references(() => users.id, { onDelete: 'cascade' }),
  codeHash: text('code_hash').notNull(),
  usedAt: timestamp('used_at', { withTimezone: true }),
  createdAt: createdAt(),
}, (t) => [index('user_recovery_codes_user').on(t.userId)]);

/**
 * Control-plane sessions: the token (a signed JWT) names the row; the row
 * enforces inactivity (last_seen_at) and the absolute lifetime (expires_at)
 * and carries the device (user agent, address).
 */
export const sessions = pgTable('sessions', {
  id: uuid('id').primaryKey().defaultRandom(),
  tenantId: tenantRef(),
  userId: uuid('user_id').notNull().references(() => users.id, { onDelete: 'cascade' }),
  createdAt: createdAt(),
  lastSeenAt: timestamp('last_seen_at', { withTimezone: true }).notNull().defaultNow(),
  expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
  revokedAt: timestamp('revoked_at', { withTimezone: true }),
  userAgent: text('user_agent'),
  sourceIp: text('source_ip'),
  /** The tenant requires 2FA for this role and the user has none yet: only enrolment is allowed. */
  mfaPending: boolean('mfa_pending').notNull().default(false),
}, (t) => [index('sessions_user').on(t.tenantId, t.userId)]);

/** Invitations and setup links: a one-time token (SHA-256 stored) that sets a password; user_id set for an existing user. */
export const invitations = pgTable('invitations', {
  id: uuid('id').primaryKey().defaultRandom(),
  tenantId: tenantRef(),
  email: text('email').notNull(),
  role: userRole('role').notNull(),
  tokenHash: text('token_hash').notNull().unique(),
  userId: uuid('user_id').references(() => users.id, { onDelete: 'cascade' }),
  createdBy: text('created_by').notNull(),
  createdAt: createdAt(),
  expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
  acceptedAt: timestamp('accepted_at', { withTimezone: true }),
});

export const apiKeys = pgTable('api_keys', {
  id: uuid('id').primaryKey().defaultRandom(),
  tenantId: tenantRef(),
  name: text('name').notNull(),
  /** Shown to the user to tell keys apart; not secret. */
  prefix: text('prefix').notNull().unique(),
  /** SHA-256 of the whole key (keys are 256-bit random, so a fast hash is enough). */
  keyHash: text('key_hash').notNull(),
  role: userRole('role').notNull(),
  createdAt: createdAt(),
  lastUsedAt: timestamp('last_used_at', { withTimezone: true }),
  revokedAt: timestamp('revoked_at', { withTimezone: true }),
  /** Set on the old key when it is rotated: it keeps working until then (the grace period). */
  expiresAt: timestamp('expires_at', { withTimezone: true }),
});

export const agents = pgTable('agents', {
  id: uuid('id').primaryKey().defaultRandom(),
  tenantId: tenantRef(),
  name: text('name').notNull(),
  mode: agentMode('mode').notNull().default('conversation'),
  prompt: text('prompt').notNull().default(''),
  greeting: text('greeting').notNull().default(''),
  voice: text('voice').notNull().default('default'),
  /** Provider choice and options per stage: { stt: {...}, llm: {...}, tts: {...}, vad: {...} }. */
  providerSettings: jsonb('provider_settings').notNull().default({}),
  recordingEnabled: boolean('recording_enabled').notNull().default(true),
  /** Overrides the tenant's retention when set. */
  retentionDays: integer('retention_days'),
  transferTarget: text('transfer_target'),
  createdAt: createdAt(),
}, (t) => [unique('agents_tenant_name').on(t.tenantId, t.name)]);

export const carrierTrunks = pgTable('carrier_trunks', {
  id: uuid('id').primaryKey().defaultRandom(),
  tenantId: tenantRef(),
  name: text('name').notNull(),
  /** Where outbound calls go, e.g. sip:carrier.example:5060. */
  outboundUri: text('outbound_uri'),
  username: text('username'),
  /** Outbound digest password, sealed by the key ring (never plain text). */
  passwordSealed: bytea('password_sealed'),
  allowedCidrs: text('allowed_cidrs').array().notNull().default(sql`'{}'::text[]`),
  createdAt: createdAt(),
});

export const numbers = pgTable('numbers', {
  id: uuid('id').primaryKey().defaultRandom(),
  tenantId: tenantRef(),
  /** Called number or extension, as it arrives in the Request-URI user part. Unique across tenants. */
  number: text('number').notNull().unique(),
  agentId: uuid('agent_id').notNull().references(() => agents.id, { onDelete: 'cascade' }),
  trunkId: uuid('trunk_id').references(() => carrierTrunks.id, { onDelete: 'set null' }),
  /** Carrier source addresses allowed to call this number without digest auth. */
  allowedCidrs: text('allowed_cidrs').array().notNull().default(sql`'{}'::text[]`),
  digestUsername: text('digest_username'),
  digestRealm: text('digest_realm'),
  /** HA1 = H(username:realm:password) for MD5 and SHA-256 (RFC 8760); the password itself is never stored. */
  digestHa1Md5: text('digest_ha1_md5'),
  digestHa1Sha256: text('digest_ha1_sha256'),
  /**
   * Digest algorithms this number offers, in challenge order, and the only ones it accepts
   * (e.g. {SHA-256} refuses an MD5 answer). NULL: the server default (SMARTALEX_SIP_DIGEST_ALGORITHMS).
   */
  digestAlgorithms: text('digest_algorithms').array(),
  /** Calls to this number must use SRTP (RTP/SAVP with SDES keys, over SIP TLS); anything else gets 488. */
  requireSrtp: boolean('require_srtp').notNull().default(false),
  createdAt: createdAt(),
}, (t) => [
  check('numbers_digest_algorithms', sql`${t.digestAlgorithms} is null or (cardinality(${t.digestAlgorithms}) between 1 and 2 and ${t.digestAlgorithms} <@ '{MD5,SHA-256}'::text[] and ${t.digestAlgorithms}[1] is distinct from ${t.digestAlgorithms}[2])`),
]);

export const calls = pgTable('calls', {
  id: uuid('id').primaryKey().defaultRandom(),
  tenantId: tenantRef(),
  agentId: uuid('agent_id').references(() => agents.id, { onDelete: 'set null' }),
  numberId: uuid('number_id').references(() => numbers.id, { onDelete: 'set null' }),
  direction: callDirection('direction').notNull(),
  fromUri: text('from_uri').notNull(),
  toUri: text('to_uri').notNull(),
  sipCallId: text('sip_call_id').notNull(),
  state: text('state').notNull(),
  startedAt: timestamp('started_at', { withTimezone: true }).notNull().defaultNow(),
  answeredAt: timestamp('answered_at', { withTimezone: true }),
  endedAt: timestamp('ended_at', { withTimezone: true }),
  endReason: text('end_reason'),
  /** What failed, when something did (provider name and stage, never call content). */
  failure: text('failure'),
  /** Per-turn latency summary (DESIGN.md vocabulary). */
  latency: jsonb('latency'),
  /** The media node that holds the call (cluster_nodes.id); its calls end as `node-lost` when it dies. */
  nodeId: text('node_id'),
}, (t) => [
  index('calls_tenant_started').on(t.tenantId, t.startedAt),
  index('calls_node_open').on(t.nodeId).where(sql`${t.endedAt} is null`),
]);

export const callEvents = pgTable('call_events', {
  id: bigserial('id', { mode: 'number' }).primaryKey(),
  tenantId: tenantRef(),
  callId: uuid('call_id').notNull().references(() => calls.id, { onDelete: 'cascade' }),
  at: timestamp('at', { withTimezone: true }).notNull().defaultNow(),
  type: text('type').notNull(),
  data: jsonb('data').notNull().default({}),
}, (t) => [index('call_events_call').on(t.callId)]);

export const transcriptTurns = pgTable('transcript_turns', {
  id: bigserial('id', { mode: 'number' }).primaryKey(),
  tenantId: tenantRef(),
  callId: uuid('call_id').notNull().references(() => calls.id, { onDelete: 'cascade' }),
  seq: integer('seq').notNull(),
  speaker: text('speaker').notNull(),
  /** Redacted text only: raw transcripts are never persisted. */
  redactedText: text('redacted_text').notNull(),
  entities: jsonb('entities').notNull().default([]),
  latency: jsonb('latency'),
  at: timestamp('at', { withTimezone: true }).notNull().defaultNow(),
}, (t) => [index('transcript_turns_call').on(t.callId, t.seq)]);

export const recordings = pgTable('recordings', {
  id: uuid('id').primaryKey(),
  tenantId: tenantRef(),
  callId: uuid('call_id').references(() => calls.id, { onDelete: 'cascade' }),
  objectKey: text('object_key').notNull(),
  keyId: text('key_id').notNull(),
  sizeBytes: bigint('size_bytes', { mode: 'number' }).notNull().default(0),
  sha256: text('sha256'),
  durationMs: integer('duration_ms'),
  cutShort: boolean('cut_short').notNull().default(false),
  retainUntil: timestamp('retain_until', { withTimezone: true }).notNull(),
  createdAt: createdAt(),
  /** Set when the recorder finished cleanly; NULL while recording or after a crash. */
  completedAt: timestamp('completed_at', { withTimezone: true }),
  /** The contact the call was with, when known: deleting the contact deletes the recording. */
  contactId: uuid('contact_id').references(() => contacts.id, { onDelete: 'cascade' }),
}, (t) => [index('recordings_retain_until').on(t.retainUntil), index('recordings_call').on(t.callId), index('recordings_contact').on(t.contactId)]);

export const contacts = pgTable('contacts', {
  id: uuid('id').primaryKey().defaultRandom(),
  tenantId: tenantRef(),
  name: text('name'),
  phone: text('phone').notNull(),
  email: text('email'),
  /** The contact's own IANA time zone, for calling hours (the tenant's zone applies when NULL). */
  timeZone: text('time_zone'),
  createdAt: createdAt(),
  /** The tenant's own fields about the contact: a flat object of string, number or boolean values (src/resources/contact-attributes.ts). Personal data. */
  attributes: jsonb('attributes').$type<ContactAttributes>().notNull().default({}),
}, (t) => [check('contacts_attributes_object', sql`jsonb_typeof(${t.attributes}) = 'object'`)]);

/** A contact's custom attributes as stored. */
export type ContactAttributes = Record<string, string | number | boolean>;

export const doNotCall = pgTable('do_not_call', {
  id: uuid('id').primaryKey().defaultRandom(),
  tenantId: tenantRef(),
  phone: text('phone').notNull(),
  reason: text('reason'),
  createdAt: createdAt(),
}, (t) => [unique('do_not_call_tenant_phone').on(t.tenantId, t.phone)]);

export const consents = pgTable('consents', {
  id: uuid('id').primaryKey().defaultRandom(),
  tenantId: tenantRef(),
  contactId: uuid('contact_id').references(() => contacts.id, { onDelete: 'cascade' }),
  phone: text('phone').notNull(),
  kind: text('kind').notNull(),
  source: text('source'),
  grantedAt: timestamp('granted_at', { withTimezone: true }).notNull().defaultNow(),
  revokedAt: timestamp('revoked_at', { withTimezone: true }),
}, (t) => [index('consents_tenant_phone').on(t.tenantId, t.phone)]);

export const auditLog = pgTable('audit_log', {
  id: bigserial('id', { mode: 'number' }).primaryKey(),
  tenantId: tenantRef(),
  at: timestamp('at', { withTimezone: true }).notNull().defaultNow(),
  /** Who: "apikey:<prefix>", "user:<id>", "operator:cli", "system:<component>". */
  actor: text('actor').notNull(),
  action: text('action').notNull(),
  target: text('target'),
  detail: jsonb('detail').notNull().default({}),
  sourceIp: text('source_ip'),
}, (t) => [index('audit_log_tenant_at').on(t.tenantId, t.at)]);

/**
 * Tenant keys wrapped by the master key, one row per version (rotation adds
 * one). Destroying them crypto-shreds the tenant's recordings: wrapped_key is
 * set NULL and destroyed_at kept as a tombstone. No foreign key to tenants on
 * purpose: the tombstones outlive a tenant's erasure, so a surviving copy of a
 * recording reads as "keys destroyed", not "unknown".
 */
export const tenantKeys = pgTable('tenant_keys', {
  tenantId: uuid('tenant_id').notNull(),
  keyId: text('key_id').notNull(),
  version: integer('version').notNull().default(1),
  wrappedKey: bytea('wrapped_key'),
  masterKeyId: text('master_key_id').notNull(),
  createdAt: createdAt(),
  destroyedAt: timestamp('destroyed_at', { withTimezone: true }),
}, (t) => [
  primaryKey({ name: 'tenant_keys_tenant_key', columns: [t.tenantId, t.keyId] }),
  uniqueIndex('tenant_keys_tenant_version').on(t.tenantId, t.version),
]);

/**
 * A tenant's own provider API keys (Deepgram, OpenAI), sealed with the tenant's
 * current key from the key ring (AES-256-GCM, AAD binds tenant and provider);
 * `key_id` names the tenant key version that sealed it. Never plain text.
 */
export const tenantProviderKeys = pgTable('tenant_provider_keys', {
  tenantId: tenantRef(),
  provider: text('provider').notNull(),
  sealed: bytea('sealed').notNull(),
  keyId: text('key_id').notNull(),
  createdAt: createdAt(),
}, (t) => [
  primaryKey({ name: 'tenant_provider_keys_pkey', columns: [t.tenantId, t.provider] }),
  check('tenant_provider_keys_provider', sql`${t.provider} in ('deepgram', 'openai')`),
]);

/**
 * The carrier that starts a number's media streams through its webhook, and what
 * checks that carrier's request signatures (Twilio auth token, Telnyx Ed25519
 * public key), sealed with the tenant key; `credential_key_id` names the tenant
 * key version that sealed it. Never plain text.
 */
export const numberCarriers = pgTable('number_carriers', {
  numberId: uuid('number_id').primaryKey().references(() => numbers.id, { onDelete: 'cascade' }),
  tenantId: tenantRef(),
  carrier: text('carrier').notNull(),
  credentialSealed: bytea('credential_sealed').notNull(),
  credentialKeyId: text('credential_key_id').notNull(),
  createdAt: createdAt(),
}, (t) => [
  check('number_carriers_carrier', sql`${t.carrier} in ('twilio', 'telnyx')`),
]);

/**
 * Security events that belong to no tenant (a banned source, a scanner, a call to
 * a number that may not exist). Written by the application, never readable by it.
 */
export const securityEvents = pgTable('security_events', {
  id: bigserial('id', { mode: 'number' }).primaryKey(),
  at: timestamp('at', { withTimezone: true }).notNull().defaultNow(),
  type: text('type').notNull(),
  sourceIp: text('source_ip'),
  detail: jsonb('detail').notNull().default({}),
});

// ---------------------------------------------------------------- webhooks (0008_webhooks.sql)

/**
 * A tenant's webhook receiver. The signing secret ("whsec_...") is sealed with
 * the tenant key (AAD binds tenant and endpoint); after a rotation the previous
 * secret stays (sealed) until `previous_secret_until`, and deliveries are
 * signed with both. Disabled after sustained failure (src/webhooks).
 */
export const webhookEndpoints = pgTable('webhook_endpoints', {
  id: uuid('id').primaryKey().defaultRandom(),
  tenantId: tenantRef(),
  url: text('url').notNull(),
  description: text('description'),
  eventTypes: text('event_types').array().notNull(),
  enabled: boolean('enabled').notNull().default(true),
  secretSealed: bytea('secret_sealed').notNull(),
  secretKeyId: text('secret_key_id').notNull(),
  previousSecretSealed: bytea('previous_secret_sealed'),
  previousSecretKeyId: text('previous_secret_key_id'),
  previousSecretUntil: timestamp('previous_secret_until', { withTimezone: true }),
  consecutiveFailures: integer('consecutive_failures').notNull().default(0),
  failingSince: timestamp('failing_since', { withTimezone: true }),
  disabledReason: text('disabled_reason'),
  createdAt: createdAt(),
}, (t) => [check('webhook_endpoints_event_types', sql`cardinality(${t.eventTypes}) > 0`)]);

/** The outbox: one row per event, written in the transaction of the change it reports. `id` is the webhook-id. */
export const webhookEvents = pgTable('webhook_events', {
  id: text('id').primaryKey(),
  tenantId: tenantRef(),
  seq: bigserial('seq', { mode: 'number' }).notNull(),
  type: text('type').notNull(),
  /** What the event is about (a call id, a campaign id): deliveries to one endpoint keep this order per subject. */
  subject: text('subject').notNull(),
  payload: jsonb('payload').notNull(),
  createdAt: createdAt(),
}, (t) => [index('webhook_events_tenant_seq').on(t.tenantId, t.seq)]);

export const webhookDeliveries = pgTable('webhook_deliveries', {
  id: bigserial('id', { mode: 'number' }).primaryKey(),
  tenantId: tenantRef(),
  eventId: text('event_id').notNull().references(() => webhookEvents.id, { onDelete: 'cascade' }),
  endpointId: uuid('endpoint_id').notNull().references(() => webhookEndpoints.id, { onDelete: 'cascade' }),
  subject: text('subject').notNull(),
  seq: bigint('seq', { mode: 'number' }).notNull(),
  /** pending (to send or being sent), delivered, failed (gave up after the schedule). */
  status: text('status').notNull().default('pending'),
  attempts: integer('attempts').notNull().default(0),
  nextAttemptAt: timestamp('next_attempt_at', { withTimezone: true }).notNull(),
  /** Set while a worker sends it; an expired lease (a crash mid-delivery) makes it due again. */
  leaseUntil: timestamp('lease_until', { withTimezone: true }),
  lastStatusCode: integer('last_status_code'),
  lastError: text('last_error'),
  deliveredAt: timestamp('delivered_at', { withTimezone: true }),
  createdAt: createdAt(),
}, (t) => [
  unique('webhook_deliveries_event_endpoint').on(t.eventId, t.endpointId),
  check('webhook_deliveries_status', sql`${t.status} in ('pending', 'delivered', 'failed')`),
  index('webhook_deliveries_due').on(t.tenantId, t.status, t.nextAttemptAt),
  index('webhook_deliveries_order').on(t.endpointId, t.subject, t.seq),
]);

/** The delivery log: one row per attempt (status code or error, never the payload). */
export const webhookAttempts = pgTable('webhook_attempts', {
  id: bigserial('id', { mode: 'number' }).primaryKey(),
  tenantId: tenantRef(),
  deliveryId: bigint('delivery_id', { mode: 'number' }).notNull().references(() => webhookDeliveries.id, { onDelete: 'cascade' }),
  attempt: integer('attempt').notNull(),
  at: timestamp('at', { withTimezone: true }).notNull(),
  statusCode: integer('status_code'),
  error: text('error'),
  durationMs: integer('duration_ms').notNull(),
}, (t) => [index('webhook_attempts_delivery').on(t.deliveryId, t.attempt)]);

// ---------------------------------------------------------------- campaigns (0008_webhooks.sql)

export const campaigns = pgTable('campaigns', {
  id: uuid('id').primaryKey().defaultRandom(),
  tenantId: tenantRef(),
  name: text('name').notNull(),
  agentId: uuid('agent_id').notNull().references(() => agents.id, { onDelete: 'cascade' }),
  /** The From to present (one of the tenant's numbers); NULL: the tenant's default (outbound-policy.ts). */
  callerId: text('caller_id'),
  state: text('state').notNull().default('draft'),
  startsAt: timestamp('starts_at', { withTimezone: true }),
  endsAt: timestamp('ends_at', { withTimezone: true }),
  maxConcurrent: integer('max_concurrent').notNull().default(1),
  callsPerSecond: real('calls_per_second').notNull().default(1),
  maxAttempts: integer('max_attempts').notNull().default(3),
  retrySpacingSeconds: integer('retry_spacing_seconds').notNull().default(3600),
  createdAt: createdAt(),
  completedAt: timestamp('completed_at', { withTimezone: true }),
}, (t) => [
  check('campaigns_state', sql`${t.state} in ('draft', 'running', 'paused', 'cancelled', 'completed')`),
  check('campaigns_limits', sql`${t.maxConcurrent} between 1 and 1000 and ${t.callsPerSecond} > 0 and ${t.callsPerSecond} <= 100 and ${t.maxAttempts} between 1 and 10 and ${t.retrySpacingSeconds} >= 0`),
]);

export const campaignContacts = pgTable('campaign_contacts', {
  id: bigserial('id', { mode: 'number' }).primaryKey(),
  tenantId: tenantRef(),
  campaignId: uuid('campaign_id').notNull().references(() => campaigns.id, { onDelete: 'cascade' }),
  contactId: uuid('contact_id').notNull().references(() => contacts.id, { onDelete: 'cascade' }),
  /** pending (to dial, maybe again), dialing (a call is being placed: never dialled again after a restart), done. */
  state: text('state').notNull().default('pending'),
  outcome: text('outcome'),
  /** A refusal reason or what failed (never call content). */
  detail: text('detail'),
  attempts: integer('attempts').notNull().default(0),
  nextAttemptAt: timestamp('next_attempt_at', { withTimezone: true }),
  callId: uuid('call_id').references(() => calls.id, { onDelete: 'set null' }),
  completedAt: timestamp('completed_at', { withTimezone: true }),
}, (t) => [
  unique('campaign_contacts_campaign_contact').on(t.campaignId, t.contactId),
  check('campaign_contacts_state', sql`${t.state} in ('pending', 'dialing', 'done')`),
  check('campaign_contacts_outcome', sql`${t.outcome} is null or ${t.outcome} in ('answered', 'busy', 'no-answer', 'failed', 'refused', 'cancelled')`),
  index('campaign_contacts_due').on(t.campaignId, t.state, t.nextAttemptAt),
  index('campaign_contacts_contact').on(t.contactId),
]);
/**
 * Cluster state (0009_cluster.sql): the media nodes sharing this database, the per-tenant call leases that
 * hold the concurrent call limit across them, and shared rate-limit windows. The runtime role reaches
 * these only through the SECURITY DEFINER functions of storage/cluster.ts.
 */
export const clusterNodes = pgTable('cluster_nodes', {
  id: text('id').primaryKey(),
  sipUri: text('sip_uri'),
  state: text('state').notNull().default('running'),
  startedAt: timestamp('started_at', { withTimezone: true }).notNull().defaultNow(),
  heartbeatAt: timestamp('heartbeat_at', { withTimezone: true }).notNull().defaultNow(),
}, (t) => [check('cluster_nodes_state', sql`${t.state} in ('running', 'draining', 'stopped', 'lost')`)]);

export const callLeases = pgTable('call_leases', {
  id: uuid('id').primaryKey(),
  tenantId: tenantRef(),
  nodeId: text('node_id').notNull().references(() => clusterNodes.id, { onDelete: 'cascade' }),
  acquiredAt: timestamp('acquired_at', { withTimezone: true }).notNull().defaultNow(),
}, (t) => [index('call_leases_tenant').on(t.tenantId), index('call_leases_node').on(t.nodeId)]);

export const rateLimitWindows = pgTable('rate_limit_windows', {
  bucket: text('bucket').primaryKey(),
  windowStart: timestamp('window_start', { withTimezone: true }).notNull().defaultNow(),
  hits: integer('hits').notNull().default(1),
});

/** Asynchronous API jobs (GDPR exports): state, request, result summary, and a lease while running (0011_api_jobs.sql). */
export const apiJobs = pgTable('api_jobs', {
  id: uuid('id').primaryKey().defaultRandom(),
  tenantId: tenantRef(),
  kind: text('kind').notNull(),
  state: text('state').notNull().default('queued'),
  request: jsonb('request').notNull(),
  requestedBy: text('requested_by').notNull(),
  filePath: text('file_path'),
  result: jsonb('result'),
  error: text('error'),
  leaseUntil: timestamp('lease_until', { withTimezone: true }),
  createdAt: createdAt(),
  startedAt: timestamp('started_at', { withTimezone: true }),
  finishedAt: timestamp('finished_at', { withTimezone: true }),
}, (t) => [
  index('api_jobs_tenant_created').on(t.tenantId, t.createdAt),
  index('api_jobs_state_finished').on(t.state, t.finishedAt),
  check('api_jobs_state', sql`${t.state} in ('queued', 'running', 'done', 'failed', 'expired')`),
  check('api_jobs_kind', sql`${t.kind} in ('gdpr.export')`),
]);

/**
 * Per-agent web-widget keys (0014_widget_keys.sql): public (embedded in a customer's page), so stored as
 * they are; the origin allowlist, rate limits and revocation protect them.
 */
export const widgetKeys = pgTable('widget_keys', {
  id: uuid('id').primaryKey().defaultRandom(),
  tenantId: tenantRef(),
  agentId: uuid('agent_id').notNull().references(() => agents.id, { onDelete: 'cascade' }),
  key: text('key').notNull().unique(),
  name: text('name'),
  /** Exact origins (`https://host[:port]`) a page may call from. */
  allowedOrigins: text('allowed_origins').array().notNull(),
  createdBy: text('created_by').notNull(),
  createdAt: createdAt(),
  revokedAt: timestamp('revoked_at', { withTimezone: true }),
}, (t) => [
  index('widget_keys_agent_created').on(t.agentId, t.createdAt),
  check('widget_keys_origins', sql`cardinality(${t.allowedOrigins}) > 0`),
]);

/** Ids of WebRTC call tokens already used, until their tokens expire (0014_widget_keys.sql; through smartalex_claim_call_token only). */
export const usedCallTokens = pgTable('used_call_tokens', {
  tokenId: text('token_id').primaryKey(),
  expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
}, (t) => [
  index('used_call_tokens_expires').on(t.expiresAt),
]);
