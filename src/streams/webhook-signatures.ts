/**
 * Who is asking us to start a media stream: the carriers' webhook signatures.
 *
 * Twilio (`X-Twilio-Signature`): base64 HMAC-SHA1, keyed with the account's
 * auth token, over the full request URL followed by every POST parameter's
 * name and value, sorted by name. Twilio signs the URL as it called it, which
 * behind a proxy may or may not carry the default port, so both spellings are
 * tried (as Twilio's own helper libraries do).
 *
 * Telnyx (`telnyx-signature-ed25519`, `telnyx-timestamp`): an Ed25519
 * signature, by the account's key pair, over `timestamp|body`; the timestamp
 * must be recent so a captured request cannot be replayed later.
 *
 * Hand-written: each is a few lines of node:crypto, and the providers' SDKs
 * would pull in their whole REST clients for it.
 */
import { createHmac, createPublicKey, timingSafeEqual, verify } from 'node:crypto';

function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function twilioDigest(authToken: string, url: string, params: Record<string, string>): string {
  const data = Object.keys(params).sort().reduce((acc, key) => acc + key + params[key], url);
  return createHmac('sha1', authToken).update(data, 'utf8').digest('base64');
}

/** The URL with its default port added when absent and removed when present. */
function otherPortSpelling(url: string): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return undefined;
  }
  const defaultPort = parsed.protocol === 'https:' ? '443' : parsed.protocol === 'http:' ? '80' : undefined;
  if (!defaultPort) return undefined;
  // URL drops a default port when parsing, so work on the string.
  const authority = `${parsed.protocol}//${parsed.host}`;
  const explicit = new RegExp(`^${parsed.protocol}//[^/]*:${defaultPort}(?=/|$)`);
  if (explicit.test(url)) return url.replace(`:${defaultPort}`, '');
  if (url.startsWith(authority)) return `${parsed.protocol}//${parsed.hostname}:${defaultPort}${url.slice(authority.length)}`;
  return undefined;
}

export function verifyTwilioSignature(authToken: string, url: string, params: Record<string, string>, signature: string | undefined): boolean {
  if (!signature || !authToken) return false;
  if (sameText(twilioDigest(authToken, url, params), signature)) return true;
  const other = otherPortSpelling(url);
  return other !== undefined && sameText(twilioDigest(authToken, other, params), signature);
}

/** For tests and for operators checking their set-up: what Twilio would send. */
export function signTwilioRequest(authToken: string, url: string, params: Record<string, string>): string {
  return twilioDigest(authToken, url, params);
}

export const TELNYX_MAX_SKEW_S = 300;

/** `publicKey`: the account's public key as Telnyx shows it (base64 of the raw 32-byte Ed25519 key), or PEM. */
export function verifyTelnyxSignature(publicKey: string, rawBody: string, signature: string | undefined, timestamp: string | undefined, nowS = Date.now() / 1000): boolean {
  if (!signature || !timestamp || !/^\d{1,12}$/.test(timestamp)) return false;
  if (Math.abs(nowS - Number(timestamp)) > TELNYX_MAX_SKEW_S) return false;
  try {
    const key = publicKey.includes('BEGIN')
      ? createPublicKey(publicKey)
      : createPublicKey({ key: Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), Buffer.from(publicKey, 'base64')]), format: 'der', type: 'spki' });
    return verify(null, Buffer.from(`${timestamp}|${rawBody}`, 'utf8'), key, Buffer.from(signature, 'base64'));
  } catch {
    return false;
  }
}
