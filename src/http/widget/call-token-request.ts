/// <reference lib="dom" />
/**
 * Mints a call token for a web-widget key from the widget's own server
 * (POST /v1/widget-keys/<key>/call-tokens, src/api/routes/widget-keys.ts) and
 * turns a refusal into a CallStartError the widget can put in words. The
 * request is a CORS "simple" one (POST, no body, no custom header): no
 * preflight, and the server makes every answer readable by the asking page,
 * so a 403 (this site's origin is not allowed) is told apart from a network
 * failure. No credential is sent.
 */
import { CallStartError, type CallTicket } from '../browser-call/browser-call.ts';

/** `base` is the widget's server with its path prefix (where /widget.js was loaded from), ending in '/'. */
export async function requestCallTicket(base: URL, key: string): Promise<CallTicket> {
  let res: Response;
  try {
    res = await fetch(new URL(`v1/widget-keys/${encodeURIComponent(key)}/call-tokens`, base), { method: 'POST', credentials: 'omit', cache: 'no-store' });
  } catch {
    throw new CallStartError('network', 'The agent could not be reached. Check your connection and try again.');
  }
  if (res.status === 403) throw new CallStartError('origin-not-allowed', 'This website is not allowed to call this agent.');
  if (res.status === 404) throw new CallStartError('unknown-key', 'This agent is not available.');
  if (res.status === 429) {
    const seconds = Number(res.headers.get('retry-after'));
    const when = Number.isFinite(seconds) && seconds > 0 ? `in ${Math.ceil(seconds)} seconds` : 'in a minute';
    throw new CallStartError('busy', `The agent is busy right now. Please try again ${when}.`);
  }
  if (res.status !== 201) throw new CallStartError('unavailable', 'The agent is not available right now. Please try again later.');
  const body = await res.json() as { token?: unknown; signallingPath?: unknown };
  if (typeof body.token !== 'string' || typeof body.signallingPath !== 'string') throw new CallStartError('unavailable', 'The agent is not available right now. Please try again later.');
  const signalling = new URL(body.signallingPath.replace(/^\//, ''), base);
  signalling.protocol = signalling.protocol === 'https:' ? 'wss:' : 'ws:';
  return { signallingUrl: signalling.href, token: body.token };
}
