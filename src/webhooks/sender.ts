/**
 * Sends one webhook: a POST of the exact signed bytes, with a timeout, no
 * redirects followed (a 3xx is a failure) and the SSRF check at connect time:
 * the host name is resolved here and every address it resolves to must pass
 * address-policy.ts, and the connection goes to an address that was checked
 * (no second lookup a rebinding DNS server could answer differently). The
 * response body is read up to a small limit and dropped. Outcomes carry a
 * status code or a short error name, never the payload.
 */
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { request as httpRequest, type RequestOptions } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import { checkAddress } from './address-policy.ts';

export interface SendOptions {
  timeoutMs: number;
  allowLoopback: boolean;
  /** DNS resolution (tests); default node:dns lookup with all addresses. */
  resolve?: (host: string) => Promise<LookupAddress[]>;
}

export type SendOutcome = { ok: boolean; statusCode: number | null; error: string | null };

export class RefusedAddressError extends Error {
  override name = 'RefusedAddressError';
}

const MAX_RESPONSE_BYTES = 64 * 1024;

function defaultResolve(host: string): Promise<LookupAddress[]> {
  return new Promise((resolve, reject) => dnsLookup(host, { all: true, verbatim: true }, (error, addresses) => (error ? reject(error) : resolve(addresses))));
}

/** Resolves `host` and checks every address; the allowed addresses, or RefusedAddressError. */
export async function resolveAllowed(host: string, options: Pick<SendOptions, 'allowLoopback' | 'resolve'>): Promise<LookupAddress[]> {
  const bare = host.replace(/^\[|\]$/g, '');
  const addresses = isIP(bare) ? [{ address: bare, family: isIP(bare) }] : await (options.resolve ?? defaultResolve)(bare);
  if (addresses.length === 0) throw new RefusedAddressError('the host name resolved to no address');
  for (const a of addresses) {
    const verdict = checkAddress(a.address, { allowLoopback: options.allowLoopback });
    if (!verdict.allowed) throw new RefusedAddressError(`the endpoint resolves to ${verdict.why}`);
  }
  return addresses;
}

/** Checks an endpoint URL's form (https, or http; no credentials); the message says what is wrong. */
export function checkEndpointUrl(value: string): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'not a URL';
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return 'the URL must be http(s)';
  if (url.username || url.password) return 'the URL must not carry credentials';
  if (url.hash) return 'the URL must not have a fragment';
  if (value.length > 2000) return 'the URL is too long';
  return undefined;
}

export async function sendWebhook(url: string, body: string, headers: Record<string, string>, options: SendOptions): Promise<SendOutcome> {
  const problem = checkEndpointUrl(url);
  if (problem) return { ok: false, statusCode: null, error: `invalid-url: ${problem}` };
  const target = new URL(url);
  let addresses: LookupAddress[];
  try {
    addresses = await resolveAllowed(target.hostname, options);
  } catch (error) {
    return { ok: false, statusCode: null, error: error instanceof RefusedAddressError ? `refused: ${error.message}` : `dns: ${(error as NodeJS.ErrnoException).code ?? 'error'}` };
  }
  // The connection uses the addresses just checked.
  const pinned: LookupFunction = (_host, opts, callback) => {
    if ((opts as { all?: boolean }).all) (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, addresses);
    else callback(null, addresses[0]!.address, addresses[0]!.family);
  };
  const request = target.protocol === 'https:' ? httpsRequest : httpRequest;
  const requestOptions: RequestOptions = {
    method: 'POST', lookup: pinned, timeout: options.timeoutMs,
    headers: { 'content-type': 'application/json', 'user-agent': 'smartalex-webhooks/1', 'content-length': Buffer.byteLength(body), ...headers },
  };
  return new Promise<SendOutcome>((resolve) => {
    let settled = false;
    const done = (outcome: SendOutcome): void => {
      if (settled) return;
      settled = true;
      clearTimeout(deadline);
      resolve(outcome);
    };
    const req = request(target, requestOptions, (res) => {
      let read = 0;
      res.on('data', (chunk: Buffer) => {
        read += chunk.length;
        if (read > MAX_RESPONSE_BYTES) res.destroy();
      });
      const status = res.statusCode ?? 0;
      const finish = (): void => done(status >= 200 && status < 300
        ? { ok: true, statusCode: status, error: null }
        : { ok: false, statusCode: status, error: status >= 300 && status < 400 ? 'redirect-not-followed' : null });
      res.on('end', finish);
      res.on('close', finish);
      res.on('error', finish);
    });
    // The whole exchange is bounded, not only socket idleness.
    const deadline = setTimeout(() => { req.destroy(new Error('timeout')); done({ ok: false, statusCode: null, error: 'timeout' }); }, options.timeoutMs);
    req.on('timeout', () => { req.destroy(new Error('timeout')); done({ ok: false, statusCode: null, error: 'timeout' }); });
    req.on('error', (error: NodeJS.ErrnoException) => done({ ok: false, statusCode: null, error: error.message === 'timeout' ? 'timeout' : `network: ${error.code ?? error.name}` }));
    req.end(body);
  });
}
