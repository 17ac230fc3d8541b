/**
 * SIP, SIPS and tel URIs (RFC 3261 19.1, RFC 3966), plus an opaque form for any
 * other absolute URI (RFC 4475 unksm2/novelsc carry such URIs and must parse).
 *
 * Escaped characters (%XX) in user, password, parameters and headers are
 * decoded on parse and re-escaped on format, so two spellings of the same URI
 * compare equal after parsing (RFC 4475 esc01).
 */

/** URI parameter or header parameter map: lowercase name -> value (null for a flag). */
export type Params = Record<string, string | null>;

export function emptyParams(): Params {
  return Object.create(null) as Params;
}

export interface SipUri {
  scheme: 'sip' | 'sips';
  user?: string;
  password?: string;
  host: string;
  port?: number;
  params: Params;
  headers: Record<string, string>;
}

export interface TelUri {
  scheme: 'tel';
  number: string;
  params: Params;
}

export interface OpaqueUri {
  scheme: string;
  opaque: string;
}

export type Uri = SipUri | TelUri | OpaqueUri;

export function isSipUri(uri: Uri): uri is SipUri {
  return uri.scheme === 'sip' || uri.scheme === 'sips';
}

const SCHEME = /^([A-Za-z][A-Za-z0-9+.-]*):/;
const HOSTNAME = /^[A-Za-z0-9](?:[A-Za-z0-9_.-]*[A-Za-z0-9_])?\.?$/;
const IPV6_REF = /^\[[0-9A-Fa-f:.]+\]$/;
const UNRESERVED = "A-Za-z0-9\\-_.!~*'()";
const USER_SAFE = new RegExp(`[^${UNRESERVED}&=+$,;?/]`, 'gu');
const PASSWORD_SAFE = new RegExp(`[^${UNRESERVED}&=+$,]`, 'gu');
const PARAM_SAFE = new RegExp(`[^${UNRESERVED}\\[\\]/:&+$]`, 'gu');
const HEADER_SAFE = new RegExp(`[^${UNRESERVED}\\[\\]/?:+$]`, 'gu');
const URIC_CHARS = /^[A-Za-z0-9\-_.!~*'()%;/?:@&=+$,[\]]*$/;

/** Decodes %XX escapes; malformed escapes are kept literally. Works on bytes so UTF-8 sequences decode. */
export function unescapeUriPart(s: string): string {
  if (!s.includes('%')) return s;
  const bytes: number[] = [];
  const raw = Buffer.from(s, 'utf8');
  for (let i = 0; i < raw.length; i++) {
    const b = raw[i]!;
    if (b === 0x25 && i + 2 < raw.length + 0 && isHex(raw[i + 1]) && isHex(raw[i + 2])) {
      bytes.push(parseInt(String.fromCharCode(raw[i + 1]!, raw[i + 2]!), 16));
      i += 2;
    } else bytes.push(b);
  }
  return Buffer.from(bytes).toString('utf8');
}

function isHex(b: number | undefined): boolean {
  return b !== undefined && ((b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x46) || (b >= 0x61 && b <= 0x66));
}

function escapeWith(s: string, unsafe: RegExp): string {
  return s.replace(unsafe, (ch) => [...Buffer.from(ch, 'utf8')].map((b) => '%' + b.toString(16).toUpperCase().padStart(2, '0')).join(''));
}

export const escapeUser = (s: string): string => escapeWith(s, USER_SAFE);
export const escapePassword = (s: string): string => escapeWith(s, PASSWORD_SAFE);
export const escapeParam = (s: string): string => escapeWith(s, PARAM_SAFE);
export const escapeHeader = (s: string): string => escapeWith(s, HEADER_SAFE);

/** Parses `;a=b;c` (no leading text) into params; null when a name is empty. Values are unescaped. */
function parseUriParams(s: string): Params | null {
  const params = emptyParams();
  if (s === '') return params;
  for (const part of s.split(';')) {
    const eq = part.indexOf('=');
    const name = unescapeUriPart(eq < 0 ? part : part.slice(0, eq)).toLowerCase();
    if (!name) return null;
    params[name] = eq < 0 ? null : unescapeUriPart(part.slice(eq + 1));
  }
  return params;
}

/** Parses host[:port]; null when malformed. */
export function parseHostPort(s: string): { host: string; port?: number } | null {
  let host: string;
  let portText: string | undefined;
  if (s.startsWith('[')) {
    const close = s.indexOf(']');
    if (close < 0) return null;
    host = s.slice(0, close + 1);
    const rest = s.slice(close + 1);
    if (rest) { if (!rest.startsWith(':')) return null; portText = rest.slice(1); }
    if (!IPV6_REF.test(host)) return null;
  } else {
    const colon = s.indexOf(':');
    host = colon < 0 ? s : s.slice(0, colon);
    portText = colon < 0 ? undefined : s.slice(colon + 1);
    if (!HOSTNAME.test(host)) return null;
  }
  if (portText === undefined) return { host };
  if (!/^\d{1,5}$/.test(portText)) return null;
  const port = Number(portText);
  if (port > 65535) return null;
  return { host, port };
}

export function parseSipUri(text: string): SipUri | null {
  const m = SCHEME.exec(text);
  if (!m) return null;
  const scheme = m[1]!.toLowerCase();
  if (scheme !== 'sip' && scheme !== 'sips') return null;
  let rest = text.slice(m[0].length);
  if (/[\s<>"]/.test(rest)) return null;
  const uri: SipUri = { scheme, host: '', params: emptyParams(), headers: {} };
  const at = rest.indexOf('@');
  if (at >= 0) {
    const userinfo = rest.slice(0, at);
    rest = rest.slice(at + 1);
    const colon = userinfo.indexOf(':');
    const user = colon < 0 ? userinfo : userinfo.slice(0, colon);
    if (!user) return null;
    uri.user = unescapeUriPart(user);
    if (colon >= 0) uri.password = unescapeUriPart(userinfo.slice(colon + 1));
  }
  const q = rest.indexOf('?');
  const headersText = q < 0 ? undefined : rest.slice(q + 1);
  if (q >= 0) rest = rest.slice(0, q);
  const semi = rest.indexOf(';');
  const hostport = parseHostPort(semi < 0 ? rest : rest.slice(0, semi));
  if (!hostport) return null;
  uri.host = hostport.host;
  if (hostport.port !== undefined) uri.port = hostport.port;
  const params = parseUriParams(semi < 0 ? '' : rest.slice(semi + 1));
  if (!params) return null;
  uri.params = params;
  if (headersText !== undefined) {
    for (const part of headersText.split('&')) {
      const eq = part.indexOf('=');
      if (eq <= 0) return null;
      uri.headers[unescapeUriPart(part.slice(0, eq))] = unescapeUriPart(part.slice(eq + 1));
    }
  }
  return uri;
}

/** Parses any absolute URI: sip/sips/tel structured, anything else opaque. Null when not a URI. */
export function parseUri(text: string): Uri | null {
  const m = SCHEME.exec(text);
  if (!m) return null;
  const scheme = m[1]!.toLowerCase();
  if (scheme === 'sip' || scheme === 'sips') return parseSipUri(text);
  const rest = text.slice(m[0].length);
  if (!rest || !URIC_CHARS.test(rest)) return null;
  if (scheme === 'tel') {
    const semi = rest.indexOf(';');
    const params = parseUriParams(semi < 0 ? '' : rest.slice(semi + 1));
    if (!params) return null;
    return { scheme: 'tel', number: unescapeUriPart(semi < 0 ? rest : rest.slice(0, semi)), params };
  }
  return { scheme, opaque: rest };
}

function formatParams(params: Params, escape: (s: string) => string): string {
  let out = '';
  for (const [name, value] of Object.entries(params)) out += ';' + escape(name) + (value === null ? '' : '=' + escape(value));
  return out;
}

export function formatUri(uri: Uri): string {
  if (uri.scheme === 'sip' || uri.scheme === 'sips') {
    const u = uri as SipUri;
    let out = u.scheme + ':';
    if (u.user !== undefined) {
      out += escapeUser(u.user);
      if (u.password !== undefined) out += ':' + escapePassword(u.password);
      out += '@';
    }
    out += u.host;
    if (u.port !== undefined) out += ':' + u.port;
    out += formatParams(u.params, escapeParam);
    const headers = Object.entries(u.headers);
    if (headers.length) out += '?' + headers.map(([k, v]) => escapeHeader(k) + '=' + escapeHeader(v)).join('&');
    return out;
  }
  if (uri.scheme === 'tel') {
    const t = uri as TelUri;
    return 'tel:' + t.number + formatParams(t.params, escapeParam);
  }
  const o = uri as OpaqueUri;
  return o.scheme + ':' + o.opaque;
}

/** A new SIP URI with the given parts. */
export function sipUri(parts: { user?: string; host: string; port?: number; scheme?: 'sip' | 'sips'; params?: Record<string, string | null> }): SipUri {
  const params = emptyParams();
  for (const [k, v] of Object.entries(parts.params ?? {})) params[k.toLowerCase()] = v;
  const uri: SipUri = { scheme: parts.scheme ?? 'sip', host: parts.host, params, headers: {} };
  if (parts.user !== undefined) uri.user = parts.user;
  if (parts.port !== undefined) uri.port = parts.port;
  return uri;
}
