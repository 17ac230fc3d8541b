/** Public face of src/streams: carrier WebSocket media streams (Twilio, Telnyx): webhooks, stream endpoints, tokens, signatures. */
export { registerCarrierWebhooks, STREAM_PATHS, type CarrierWebhookOptions } from './carrier-webhooks.ts';
export { attachStreamEndpoint, type StreamEndpoint, type StreamEndpointOptions } from './stream-endpoint.ts';
export { StreamCallTransport, streamEndReason } from './stream-call-transport.ts';
export { checkStreamToken, mintStreamToken, STREAM_TOKEN_TTL_MS, type StreamTokenClaims, type StreamTokenCheck } from './stream-token.ts';
export { signTwilioRequest, verifyTelnyxSignature, verifyTwilioSignature, TELNYX_MAX_SKEW_S } from './webhook-signatures.ts';
