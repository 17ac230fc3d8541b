/**
 * The OpenAPI 3.1 `webhooks` section: one entry per event of the catalogue
 * (src/webhooks/event-schemas.ts), its payload's JSON Schema generated from
 * the same zod schema the outbox's payloads are tested against, and the
 * Standard Webhooks headers every delivery carries.
 */
import { WEBHOOK_EVENT_TYPES } from '../../storage/index.ts';
import { webhookJsonSchemas } from '../webhooks/index.ts';

const header = (description: string) => ({ required: true, schema: { type: 'string' }, description });

export function openApiWebhooks(): Record<string, unknown> {
  const schemas = webhookJsonSchemas();
  const out: Record<string, unknown> = {};
  for (const type of WEBHOOK_EVENT_TYPES) {
    const { $schema: _drop, ...schema } = schemas[type] as Record<string, unknown>;
    out[type] = {
      post: {
        summary: `The ${type} event`,
        description: 'Signed per the Standard Webhooks spec with the endpoint\'s whsec_ secret (during a rotation\'s overlap, with both). '
          + 'Retried with back-off until a 2xx; duplicates share a webhook-id.',
        parameters: [
          { name: 'webhook-id', in: 'header', ...header('msg_...: the same on every attempt and replay') },
          { name: 'webhook-timestamp', in: 'header', ...header('Unix seconds when this attempt was signed') },
          { name: 'webhook-signature', in: 'header', ...header('v1,<base64 HMAC-SHA256>, space-separated when signed with two secrets') },
        ],
        requestBody: { required: true, content: { 'application/json': { schema } } },
        responses: { '2XX': { description: 'Received: not sent again' }, default: { description: 'Not received: retried with back-off' } },
      },
    };
  }
  return out;
}
