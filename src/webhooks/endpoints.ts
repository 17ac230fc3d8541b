/**
 * Managing a tenant's webhook endpoints: create (the "whsec_" secret is
 * generated here, sealed with the tenant key and returned once), change,
 * rotate the secret (the previous one keeps signing alongside the new one for
 * an overlap, default 24 h), delete, replay one delivery. Every change is
 * audited (never with the secret). The URL's form and event types are checked
 * here; its addresses are checked at send time (sender.ts).
 */
import { randomUUID } from 'node:crypto';
import {
  deleteWebhookEndpoint, endpointInfo, getWebhookEndpoint, insertWebhookEndpoint, isWebhookEventType, requeueWebhookDelivery, updateWebhookEndpoint,
  WEBHOOK_EVENT_TYPES, webhookSecretSealLabel, type Database, type WebhookEndpointInfo, type WebhookEndpointRow,
} from '../../storage/index.ts';
import type { KeyRing } from '../../storage/vault/index.ts';
import { checkEndpointUrl, RefusedAddressError, resolveAllowed, type SendOptions } from './sender.ts';
import { generateWebhookSecret } from './signing.ts';

export type SecretKeys = Pick<KeyRing, 'sealTenantSecret' | 'unsealTenantSecret'>;

export const DEFAULT_ROTATION_OVERLAP_MS = 24 * 3600_000;

/** Who made a change: the audit actor, and the source address when it came over the network. */
export type ChangeActor = string | { actor: string; sourceIp?: string };

const who = (by: ChangeActor): { actor: string; sourceIp?: string } => (typeof by === 'string' ? { actor: by } : by);

export class WebhookEndpointError extends Error {
  override name = 'WebhookEndpointError';
}

/** The label binds a sealed secret to its endpoint; storage owns it so key rotation re-seals with the same one. */
const sealLabel = webhookSecretSealLabel;

function checkEventTypes(types: readonly string[]): string[] {
  const unique = [...new Set(types)];
  if (unique.length === 0) throw new WebhookEndpointError('give at least one event type');
  const unknown = unique.filter((t) => !isWebhookEventType(t));
  if (unknown.length) throw new WebhookEndpointError(`unknown event type ${unknown.map((t) => `"${t}"`).join(', ')} (known: ${WEBHOOK_EVENT_TYPES.join(', ')})`);
  return unique;
}

function checkUrl(url: string): string {
  const problem = checkEndpointUrl(url);
  if (problem) throw new WebhookEndpointError(`invalid endpoint URL: ${problem}`);
  return url;
}

async function seal(keys: SecretKeys, tenantId: string, endpointId: string, secret: string): Promise<{ sealed: Buffer; keyId: string }> {
  const plain = Buffer.from(secret, 'utf8');
  try {
    return await keys.sealTenantSecret(tenantId, sealLabel(endpointId), plain);
  } finally {
    plain.fill(0);
  }
}

async function unseal(keys: Pick<SecretKeys, 'unsealTenantSecret'>, tenantId: string, endpointId: string, keyId: string, sealed: Buffer): Promise<string> {
  const plain = await keys.unsealTenantSecret(tenantId, sealLabel(endpointId), keyId, sealed);
  try {
    return plain.toString('utf8');
  } finally {
    plain.fill(0);
  }
}

export interface CreateEndpointInput { url: string; eventTypes: readonly string[]; description?: string | null; actor: string; sourceIp?: string }

/**
 * Where an endpoint's URL points, checked before it is saved (the API does, so a private or metadata address
 * is refused at once, not only at every send): its host name is resolved and each address must pass
 * address-policy.ts. The reason when refused (or unresolvable), undefined when allowed. The send-time check
 * (sender.ts) still runs on every delivery: DNS can change after this.
 */
export async function refusedEndpointAddress(url: string, options: Pick<SendOptions, 'allowLoopback' | 'resolve'>): Promise<string | undefined> {
  const form = checkEndpointUrl(url);
  if (form) return form;
  try {
    await resolveAllowed(new URL(url).hostname, options);
    return undefined;
  } catch (error) {
    if (error instanceof RefusedAddressError) return error.message;
    return 'the host name does not resolve';
  }
}

/** Creates an endpoint; the secret is in the result only (store it at the receiver). */
export async function createWebhookEndpoint(db: Database, keys: SecretKeys, tenantId: string, input: CreateEndpointInput): Promise<{ endpoint: WebhookEndpointInfo; secret: string }> {
  const url = checkUrl(input.url);
  const eventTypes = checkEventTypes(input.eventTypes);
  const id = randomUUID();
  const secret = generateWebhookSecret();
  const sealed = await seal(keys, tenantId, id, secret);
  const row = await insertWebhookEndpoint(db, tenantId, { id, url, eventTypes, description: input.description ?? null, secretSealed: sealed.sealed, secretKeyId: sealed.keyId }, {
    actor: input.actor, action: 'webhook.endpoint.created', target: id, detail: { eventTypes }, ...(input.sourceIp ? { sourceIp: input.sourceIp } : {}),
  });
  return { endpoint: endpointInfo(row), secret };
}

export interface EndpointChanges { url?: string; eventTypes?: readonly string[]; description?: string | null; enabled?: boolean }

export async function changeWebhookEndpoint(db: Database, tenantId: string, id: string, changes: EndpointChanges, by: ChangeActor): Promise<WebhookEndpointInfo | undefined> {
  const set = {
    ...(changes.url !== undefined ? { url: checkUrl(changes.url) } : {}),
    ...(changes.eventTypes !== undefined ? { eventTypes: checkEventTypes(changes.eventTypes) } : {}),
    ...(changes.description !== undefined ? { description: changes.description } : {}),
    ...(changes.enabled !== undefined ? { enabled: changes.enabled } : {}),
  };
  const row = await updateWebhookEndpoint(db, tenantId, id, set, { ...who(by), action: 'webhook.endpoint.updated', target: id, detail: { fields: Object.keys(set) } });
  return row ? endpointInfo(row) : undefined;
}

/** A new secret; the current one stays valid (signing alongside) for `overlapMs`. Undefined when there is no such endpoint. */
export async function rotateWebhookSecret(
  db: Database, keys: SecretKeys, tenantId: string, id: string, options: { actor: string; sourceIp?: string; overlapMs?: number; now?: Date },
): Promise<{ secret: string; previousValidUntil: Date } | undefined> {
  const current = await getWebhookEndpoint(db, tenantId, id);
  if (!current) return undefined;
  const secret = generateWebhookSecret();
  const sealed = await seal(keys, tenantId, id, secret);
  const until = new Date((options.now ?? new Date()).getTime() + (options.overlapMs ?? DEFAULT_ROTATION_OVERLAP_MS));
  const row = await updateWebhookEndpoint(db, tenantId, id, {
    secret: { ...sealed, previous: { sealed: current.secretSealed, keyId: current.secretKeyId, until } },
  }, { actor: options.actor, ...(options.sourceIp ? { sourceIp: options.sourceIp } : {}), action: 'webhook.secret.rotated', target: id, detail: { previousValidUntil: until.toISOString() } });
  return row ? { secret, previousValidUntil: until } : undefined;
}

/** The secrets a delivery is signed with at `now`: the current one, and the previous one during its overlap. */
export async function signingSecrets(
  keys: Pick<SecretKeys, 'unsealTenantSecret'>, tenantId: string, id: string,
  endpoint: Pick<WebhookEndpointRow, 'secretSealed' | 'secretKeyId' | 'previousSecretSealed' | 'previousSecretKeyId' | 'previousSecretUntil'>,
  now: Date,
): Promise<string[]> {
  const out = [await unseal(keys, tenantId, id, endpoint.secretKeyId, endpoint.secretSealed)];
  if (endpoint.previousSecretSealed && endpoint.previousSecretKeyId && endpoint.previousSecretUntil && endpoint.previousSecretUntil > now) {
    out.push(await unseal(keys, tenantId, id, endpoint.previousSecretKeyId, endpoint.previousSecretSealed));
  }
  return out;
}

export async function removeWebhookEndpoint(db: Database, tenantId: string, id: string, by: ChangeActor): Promise<boolean> {
  return deleteWebhookEndpoint(db, tenantId, id, { ...who(by), action: 'webhook.endpoint.deleted', target: id });
}

/** Sends one delivery again (same event, same webhook-id), as soon as the worker runs. */
export async function replayWebhookDelivery(db: Database, tenantId: string, deliveryId: number, by: ChangeActor, now: Date = new Date()): Promise<boolean> {
  return requeueWebhookDelivery(db, tenantId, deliveryId, now, { ...who(by), action: 'webhook.delivery.replayed', target: String(deliveryId) });
}
