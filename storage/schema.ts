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
  bigint, bigserial, boolean, check, customType, index, integer, jsonb, pgEnum, pgTable, primaryKey, text, timestamp, unique, uniqueIndex, uuid,
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
}, (t) => [
  check('tenants_outbound_window', sql`${t.outboundWindowStart} ~ '^([01][0-9]|2[0-3]):[0-5][0-9]$' and ${t.outboundWindowEnd} ~ '^(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$' and ${t.outboundWindowStart} collate "C" < ${t.outboundWindowEnd} collate "C"`),
  check('tenants_outbound_days', sql`cardinality(${t.outboundDays}) > 0 and ${t.outboundDays} <@ '{mon,tue,wed,thu,fri,sat,sun}'::text[]`),
]);

export const users = pgTable('users', {
  id: uuid('id').primaryKey().defaultRandom(),
  tenantId: tenantRef(),
  email: text('email').notNull(),
  role: userRole('role').notNull(),
  passwordHash: text('password_hash'),
  totpEnabled: boolean('totp_enabled').notNull().default(false),
  createdAt: createdAt(),
}, (t) => [unique('users_tenant_email').on(t.tenantId, t.email)]);

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
  createdAt: createdAt(),
});

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
