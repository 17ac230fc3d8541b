/**
 * SIP message model: requests, responses and an ordered header list.
 *
 * Headers keep the order they arrived in (Via order matters), are looked up
 * case-insensitively, and compact forms (RFC 3261 7.3.3 and later RFCs) are
 * expanded to their full names on the way in. Multi-value headers are split on
 * commas that are outside quoted strings and outside <...>.
 */

export interface SipHeader { name: string; value: string }

/** Compact form letter -> full header name. */
export const COMPACT_FORMS: Readonly<Record<string, string>> = {
  i: 'Call-ID', m: 'Contact', f: 'From', t: 'To', v: 'Via', l: 'Content-Length', c: 'Content-Type',
  k: 'Supported', s: 'Subject', e: 'Content-Encoding', o: 'Event', u: 'Allow-Events', r: 'Refer-To',
  b: 'Referred-By', x: 'Session-Expires', y: 'Identity',
};

const CANONICAL = new Map<string, string>();
for (const name of [
  'Accept', 'Accept-Encoding', 'Accept-Language', 'Alert-Info', 'Allow', 'Allow-Events', 'Authentication-Info',
  'Authorization', 'Call-ID', 'Call-Info', 'Contact', 'Content-Disposition', 'Content-Encoding',
  'Content-Language', 'Content-Length', 'Content-Type', 'CSeq', 'Date', 'Error-Info', 'Event', 'Expires', 'From',
  'Identity', 'In-Reply-To', 'Max-Forwards', 'Min-Expires', 'MIME-Version', 'Organization', 'Priority',
  'Proxy-Authenticate', 'Proxy-Authorization', 'Proxy-Require', 'Record-Route', 'Refer-To', 'Referred-By',
  'Reply-To', 'Require', 'Retry-After', 'Route', 'RSeq', 'RAck', 'Server', 'Session-Expires', 'Subject',
  'Subscription-State', 'Supported', 'Timestamp', 'To', 'Unsupported', 'User-Agent', 'Via', 'Warning',
  'WWW-Authenticate',
]) CANONICAL.set(name.toLowerCase(), name);

/** Full canonical spelling of a header name (compact forms expanded; unknown names kept as given). */
export function canonicalHeaderName(name: string): string {
  const lower = name.toLowerCase();
  const compact = lower.length === 1 ? COMPACT_FORMS[lower] : undefined;
  if (compact) return compact;
  return CANONICAL.get(lower) ?? name;
}

function key(name: string): string {
  return canonicalHeaderName(name).toLowerCase();
}

/** Splits a header value on commas outside quotes and angle brackets; trims each part, drops empty ones. */
export function splitHeaderList(value: string): string[] {
  const out: string[] = [];
  let start = 0;
  let inQuote = false;
  let angle = 0;
  for (let i = 0; i < value.length; i++) {
    const ch = value[i];
    if (inQuote) {
      if (ch === '\\') i++;
      else if (ch === '"') inQuote = false;
    } else if (ch === '"') inQuote = true;
    else if (ch === '<') angle++;
    else if (ch === '>') { if (angle > 0) angle--; }
    else if (ch === ',' && angle === 0) {
      const part = value.slice(start, i).trim();
      if (part) out.push(part);
      start = i + 1;
    }
  }
  const last = value.slice(start).trim();
  if (last) out.push(last);
  return out;
}

/** Ordered, case-insensitive header list. */
export class SipHeaders {
  private readonly list: SipHeader[];

  constructor(entries: Iterable<SipHeader> | Iterable<readonly [string, string]> = []) {
    this.list = [];
    for (const e of entries) {
      if (Array.isArray(e)) this.append(e[0] as string, e[1] as string);
      else { const h = e as SipHeader; this.append(h.name, h.value); }
    }
  }

  /** First value of a header, or undefined. */
  get(name: string): string | undefined {
    const k = key(name);
    for (const h of this.list) if (h.name.toLowerCase() === k) return h.value;
    return undefined;
  }

  /** Every line's value for a header, in order (not comma-split). */
  getAll(name: string): string[] {
    const k = key(name);
    return this.list.filter((h) => h.name.toLowerCase() === k).map((h) => h.value);
  }

  /** Every comma-separated element of every line of a header, in order. */
  getList(name: string): string[] {
    return this.getAll(name).flatMap(splitHeaderList);
  }

  has(name: string): boolean {
    return this.get(name) !== undefined;
  }

  count(name: string): number {
    return this.getAll(name).length;
  }

  /** Replaces every line of a header with one line, at the position of the first (or at the end). */
  set(name: string, value: string): this {
    const k = key(name);
    const idx = this.list.findIndex((h) => h.name.toLowerCase() === k);
    if (idx < 0) return this.append(name, value);
    this.list[idx] = { name: canonicalHeaderName(name), value };
    for (let i = this.list.length - 1; i > idx; i--) if (this.list[i]!.name.toLowerCase() === k) this.list.splice(i, 1);
    return this;
  }

  append(name: string, value: string): this {
    this.list.push({ name: canonicalHeaderName(name), value });
    return this;
  }

  /** Inserts before the first line of the same header (or at the top): used for Via and Record-Route. */
  prepend(name: string, value: string): this {
    const k = key(name);
    const idx = this.list.findIndex((h) => h.name.toLowerCase() === k);
    this.list.splice(idx < 0 ? 0 : idx, 0, { name: canonicalHeaderName(name), value });
    return this;
  }

  /** Removes the first line of a header; returns its value. */
  removeFirst(name: string): string | undefined {
    const k = key(name);
    const idx = this.list.findIndex((h) => h.name.toLowerCase() === k);
    if (idx < 0) return undefined;
    return this.list.splice(idx, 1)[0]!.value;
  }

  remove(name: string): this {
    const k = key(name);
    for (let i = this.list.length - 1; i >= 0; i--) if (this.list[i]!.name.toLowerCase() === k) this.list.splice(i, 1);
    return this;
  }

  entries(): readonly SipHeader[] {
    return this.list;
  }

  get size(): number {
    return this.list.length;
  }

  clone(): SipHeaders {
    return new SipHeaders(this.list.map((h) => ({ ...h })));
  }
}

interface SipMessageBase {
  /** Always "SIP/2.0" for messages this stack accepts. */
  version: string;
  headers: SipHeaders;
  /** Raw body bytes (may be binary, e.g. multipart). */
  body: Buffer;
}

export interface SipRequest extends SipMessageBase {
  kind: 'request';
  method: string;
  /** Request-URI as it appeared on the wire; parse it with `parseUri`. */
  uri: string;
}

export interface SipResponse extends SipMessageBase {
  kind: 'response';
  status: number;
  reason: string;
}

export type SipMessage = SipRequest | SipResponse;

export function createRequest(method: string, uri: string, headers: SipHeaders | Array<readonly [string, string]> = [], body: Buffer | string = Buffer.alloc(0)): SipRequest {
  return {
    kind: 'request', method, uri, version: 'SIP/2.0',
    headers: headers instanceof SipHeaders ? headers : new SipHeaders(headers),
    body: typeof body === 'string' ? Buffer.from(body) : body,
  };
}

export function createResponse(status: number, reason: string, headers: SipHeaders | Array<readonly [string, string]> = [], body: Buffer | string = Buffer.alloc(0)): SipResponse {
  return {
    kind: 'response', status, reason, version: 'SIP/2.0',
    headers: headers instanceof SipHeaders ? headers : new SipHeaders(headers),
    body: typeof body === 'string' ? Buffer.from(body) : body,
  };
}

/** Default reason phrases for the status codes this stack sends. */
export const REASON_PHRASES: Readonly<Record<number, string>> = {
  100: 'Trying', 180: 'Ringing', 181: 'Call Is Being Forwarded', 182: 'Queued', 183: 'Session Progress',
  200: 'OK', 202: 'Accepted', 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found',
  405: 'Method Not Allowed', 407: 'Proxy Authentication Required', 408: 'Request Timeout', 415: 'Unsupported Media Type',
  416: 'Unsupported URI Scheme', 420: 'Bad Extension', 480: 'Temporarily Unavailable',
  481: 'Call/Transaction Does Not Exist', 482: 'Loop Detected', 483: 'Too Many Hops', 486: 'Busy Here',
  487: 'Request Terminated', 488: 'Not Acceptable Here', 491: 'Request Pending', 500: 'Server Internal Error',
  501: 'Not Implemented', 503: 'Service Unavailable', 505: 'Version Not Supported', 513: 'Message Too Large',
  603: 'Decline',
};

export function reasonPhrase(status: number): string {
  return REASON_PHRASES[status] ?? (status < 200 ? 'Progress' : status < 300 ? 'OK' : 'Error');
}

/**
 * Builds a response to a request (RFC 3261 8.2.6): copies Via (all, in order),
 * From, To, Call-ID and CSeq; adds a To tag when given and the To has none.
 */
export function createResponseTo(
  req: SipRequest, status: number, reason?: string,
  options: { toTag?: string; headers?: Array<readonly [string, string]>; body?: Buffer | string } = {},
): SipResponse {
  const headers = new SipHeaders();
  for (const v of req.headers.getAll('via')) headers.append('Via', v);
  const from = req.headers.get('from');
  if (from !== undefined) headers.append('From', from);
  let to = req.headers.get('to');
  if (to !== undefined) {
    if (options.toTag && !/;\s*tag\s*=/i.test(to.replace(/"(?:[^"\\]|\\.)*"/g, '').replace(/<[^>]*>/g, ''))) to += `;tag=${options.toTag}`;
    headers.append('To', to);
  }
  const callId = req.headers.get('call-id');
  if (callId !== undefined) headers.append('Call-ID', callId);
  const cseq = req.headers.get('cseq');
  if (cseq !== undefined) headers.append('CSeq', cseq);
  for (const [n, v] of options.headers ?? []) headers.append(n, v);
  return createResponse(status, reason ?? reasonPhrase(status), headers, options.body ?? Buffer.alloc(0));
}
