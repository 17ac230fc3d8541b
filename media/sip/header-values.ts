/**
 * Structured values of the headers the stack itself reads: Via, From/To/
 * Contact/Route (name-addr), CSeq, Max-Forwards, generic `;name=value`
 * parameters and the comma-separated `name=value` lists of digest auth.
 * Parsers return null on malformed input and never throw.
 */
import { emptyParams, formatUri, parseHostPort, parseUri, type Params, type Uri } from './uri.ts';

const TOKEN = /^[A-Za-z0-9\-.!%*_+`'~]+$/;
export function isToken(s: string): boolean {
  return TOKEN.test(s);
}

/** Reads a quoted string starting at s[i] === '"'; returns the unescaped text and the index after the closing quote. */
export function readQuoted(s: string, i: number): { text: string; end: number } | null {
  let text = '';
  for (let j = i + 1; j < s.length; j++) {
    const ch = s[j]!;
    if (ch === '\\') {
      if (j + 1 >= s.length) return null;
      text += s[++j];
    } else if (ch === '"') return { text, end: j + 1 };
    else text += ch;
  }
  return null;
}

export function quote(s: string): string {
  return '"' + s.replace(/[\\"]/g, (c) => '\\' + c) + '"';
}

/** A Warning header value (RFC 3261 20.43): `305 host "Incompatible media format"`. */
export function formatWarning(code: number, agent: string, text: string): string {
  return `${code} ${agent.includes(':') && !agent.startsWith('[') ? `[${agent}]` : agent} ${quote(text)}`;
}

/**
 * Parses header parameters `;a=b ;c ; d="x y"` (leading semicolon required for
 * each; whitespace allowed around ; and =). Null on an empty name or junk.
 */
export function parseHeaderParams(s: string): Params | null {
  const params = emptyParams();
  let i = 0;
  const skip = () => { while (i < s.length && (s[i] === ' ' || s[i] === '\t')) i++; };
  skip();
  while (i < s.length) {
    if (s[i] !== ';') return null;
    i++;
    skip();
    const nameStart = i;
    while (i < s.length && /[A-Za-z0-9\-.!%*_+`'~]/.test(s[i]!)) i++;
    const name = s.slice(nameStart, i).toLowerCase();
    if (!name) return null;
    skip();
    let value: string | null = null;
    if (s[i] === '=') {
      i++;
      skip();
      if (s[i] === '"') {
        const q = readQuoted(s, i);
        if (!q) return null;
        value = q.text;
        i = q.end;
      } else {
        const vStart = i;
        while (i < s.length && /[A-Za-z0-9\-.!%*_+`'~:[\]]/.test(s[i]!)) i++;
        value = s.slice(vStart, i);
        if (!value) return null;
      }
      skip();
    }
    params[name] = value;
  }
  return params;
}

export function formatHeaderParams(params: Params): string {
  let out = '';
  for (const [name, value] of Object.entries(params)) {
    if (value === null) out += ';' + name;
    else out += ';' + name + '=' + (isToken(value) || /^[0-9A-Fa-f:.[\]]+$/.test(value) ? value : quote(value));
  }
  return out;
}

// ---------------------------------------------------------------- Via

export interface Via {
  protocol: string;
  version: string;
  /** Upper-case transport: UDP, TCP, TLS, SCTP, WS... */
  transport: string;
  host: string;
  port?: number;
  /** branch, received, rport (null when present without value), maddr, ttl... */
  params: Params;
}

export const BRANCH_MAGIC_COOKIE = 'z9hG4bK';

/** Parses one Via value (not a comma list). */
export function parseVia(value: string): Via | null {
  const m = /^\s*([A-Za-z0-9\-.!%*_+`'~]+)\s*\/\s*([A-Za-z0-9\-.!%*_+`'~]+)\s*\/\s*([A-Za-z0-9\-.!%*_+`'~]+)\s+([^;\s]+(?:\s*:\s*\d+)?)\s*(;.*)?$/s.exec(value);
  if (!m) return null;
  const hostport = parseHostPort(m[4]!.replace(/\s+/g, ''));
  if (!hostport) return null;
  const params = parseHeaderParams(m[5] ?? '');
  if (!params) return null;
  const via: Via = { protocol: m[1]!.toUpperCase(), version: m[2]!, transport: m[3]!.toUpperCase(), host: hostport.host, params };
  if (hostport.port !== undefined) via.port = hostport.port;
  return via;
}

export function formatVia(via: Via): string {
  return `${via.protocol}/${via.version}/${via.transport} ${via.host}${via.port !== undefined ? ':' + via.port : ''}${formatHeaderParams(via.params)}`;
}

export function viaBranch(via: Via): string | undefined {
  return via.params.branch ?? undefined;
}

/** rport value: a number when filled in, true when requested (empty), undefined when absent. */
export function viaRport(via: Via): number | true | undefined {
  if (!('rport' in via.params)) return undefined;
  const v = via.params.rport;
  return v === null || v === undefined ? true : Number(v);
}

// ---------------------------------------------------------------- name-addr

export interface NameAddr {
  displayName?: string;
  uri: Uri;
  /** Header parameters (tag, expires, q...), not URI parameters. */
  params: Params;
}

/**
 * Parses `"Display" <uri>;params`, `token words <uri>;params` or `addr-spec;params`.
 * In the addr-spec form the URI ends at the first semicolon and may not hold `?` or `,`.
 */
export function parseNameAddr(value: string): NameAddr | null {
  const s = value.trim();
  let i = 0;
  let displayName: string | undefined;
  let uriText: string;
  if (s[0] === '"') {
    const q = readQuoted(s, 0);
    if (!q) return null;
    displayName = q.text;
    i = q.end;
    while (s[i] === ' ' || s[i] === '\t') i++;
    if (s[i] !== '<') return null;
  } else {
    const lt = s.indexOf('<');
    if (lt >= 0) {
      const words = s.slice(0, lt).trim();
      if (words) {
        if (!words.split(/[ \t]+/).every(isToken)) return null;
        displayName = words;
      }
      i = lt;
    }
  }
  if (s[i] === '<') {
    const gt = s.indexOf('>', i);
    if (gt < 0) return null;
    uriText = s.slice(i + 1, gt);
    if (uriText !== uriText.trim()) return null;
    i = gt + 1;
  } else {
    if (displayName !== undefined) return null;
    const semi = s.indexOf(';');
    uriText = (semi < 0 ? s : s.slice(0, semi)).trimEnd();
    if (/[?,\s]/.test(uriText)) return null;
    i = semi < 0 ? s.length : semi;
  }
  const uri = parseUri(uriText);
  if (!uri) return null;
  const params = parseHeaderParams(s.slice(i));
  if (!params) return null;
  const out: NameAddr = { uri, params };
  if (displayName !== undefined) out.displayName = displayName;
  return out;
}

export function formatNameAddr(na: NameAddr): string {
  const display = na.displayName === undefined ? '' : quote(na.displayName) + ' ';
  return `${display}<${formatUri(na.uri)}>${formatHeaderParams(na.params)}`;
}

export function nameAddrTag(na: NameAddr): string | undefined {
  return na.params.tag ?? undefined;
}

/** The tag parameter of a From or To header value; undefined when absent or unparseable. */
export function tagOf(value: string | undefined): string | undefined {
  const na = value ? parseNameAddr(value) : null;
  return na ? nameAddrTag(na) : undefined;
}

// ---------------------------------------------------------------- CSeq, Max-Forwards, numbers

export interface CSeq { seq: number; method: string }

/** CSeq: 32-bit sequence number below 2^31 (RFC 3261 8.1.1.5) and a method token. */
export function parseCSeq(value: string): CSeq | null {
  const m = /^\s*(\d{1,10})\s+([A-Za-z0-9\-.!%*_+`'~]+)\s*$/.exec(value);
  if (!m) return null;
  const seq = Number(m[1]);
  if (seq >= 2 ** 31) return null;
  return { seq, method: m[2]! };
}

export function formatCSeq(c: CSeq): string {
  return `${c.seq} ${c.method}`;
}

/** Max-Forwards: 0..255. */
export function parseMaxForwards(value: string): number | null {
  const m = /^\s*(\d{1,5})\s*$/.exec(value);
  if (!m) return null;
  const n = Number(m[1]);
  return n <= 255 ? n : null;
}

/** Non-negative decimal integer that fits 32 bits, or null. */
export function parseUnsigned32(value: string): number | null {
  const m = /^\s*(\d{1,10})\s*$/.exec(value);
  if (!m) return null;
  const n = Number(m[1]);
  return n <= 0xffffffff ? n : null;
}

// ---------------------------------------------------------------- auth params

export interface AuthValue {
  scheme: string;
  params: Record<string, string>;
}

/** Parses `Digest realm="x", nonce="y", qop="auth"` (names lower-cased, quotes removed). */
export function parseAuthValue(value: string): AuthValue | null {
  const m = /^\s*([A-Za-z0-9\-.!%*_+`'~]+)\s*(.*)$/s.exec(value);
  if (!m) return null;
  const params: Record<string, string> = Object.create(null) as Record<string, string>;
  const s = m[2]!;
  let i = 0;
  while (i < s.length) {
    while (i < s.length && /[\s,]/.test(s[i]!)) i++;
    if (i >= s.length) break;
    const nm = /^([A-Za-z0-9\-.!%*_+`'~]+)\s*=\s*/.exec(s.slice(i));
    if (!nm) return null;
    i += nm[0].length;
    let v: string;
    if (s[i] === '"') {
      const q = readQuoted(s, i);
      if (!q) return null;
      v = q.text;
      i = q.end;
    } else {
      const start = i;
      while (i < s.length && s[i] !== ',' && !/\s/.test(s[i]!)) i++;
      v = s.slice(start, i);
    }
    params[nm[1]!.toLowerCase()] = v;
  }
  return { scheme: m[1]!, params };
}

/** Date header must be an RFC 1123 date in GMT (RFC 3261 20.17). */
export function isValidSipDate(value: string): boolean {
  return /^\s*(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d{2}:\d{2}:\d{2} GMT\s*$/.test(value);
}
