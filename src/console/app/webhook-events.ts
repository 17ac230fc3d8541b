/**
 * The webhook event types an endpoint may subscribe to: the API's catalogue
 * (storage WEBHOOK_EVENT_TYPES), repeated here because the browser bundle
 * cannot import storage; test/src/console/webhook-events.test.ts keeps the two equal.
 */
export const WEBHOOK_EVENT_TYPES = [
  'call.started', 'call.answered', 'call.ended', 'transcript.completed', 'recording.ready',
  'campaign.contact.completed', 'campaign.completed', 'webhook.endpoint.disabled',
] as const;
