/**
 * Standard Webhooks signing (https://www.standardwebhooks.com) with the
 * `standardwebhooks` package: secrets are "whsec_" + base64 of 32 random
 * bytes; a message carries webhook-id, webhook-timestamp (seconds) and
 * webhook-signature ("v1,<base64 HMAC-SHA256>"). During a secret rotation's
 * overlap the message is signed with both secrets (space-separated), so a
 * receiver holding either one verifies it.
 */
import { randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';

export function generateWebhookSecret(): string {
  return `whsec_${randomBytes(32).toString('base64')}`;
}

export function isWebhookSecret(value: string): boolean {
  return /^whsec_[A-Za-z0-9+/]{43}=$/.test(value);
}

export interface WebhookHeaders {
  'webhook-id': string;
  'webhook-timestamp': string;
  'webhook-signature': string;
}

/** Headers for `body` (the exact bytes sent), signed with every secret given (current first). */
export function signWebhook(secrets: readonly string[], id: string, at: Date, body: string): WebhookHeaders {
  if (secrets.length === 0) throw new Error('no webhook secret to sign with');
  const signature = secrets.map((s) => new Webhook(s).sign(id, at, body)).join(' ');
  return { 'webhook-id': id, 'webhook-timestamp': String(Math.floor(at.getTime() / 1000)), 'webhook-signature': signature };
}
