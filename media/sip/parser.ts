/**
 * SIP message parser (RFC 3261 section 7, checked against RFC 4475).
 *
 * Works on a Buffer (bodies may be binary), enforces a maximum message size and
 * never throws: the result says whether the message is usable and, when it is
 * not, whether enough of a request parsed (Via, From, To, Call-ID, CSeq) for the
 * server to answer it with a 400.
 *
 * Only syntax is judged here. Semantic problems a UAS must answer (missing
 * headers, duplicated single-value headers, unknown URI schemes, Max-Forwards
 * 0...) are left to `checkRequestSanity`, as RFC 4475 sections 3.3/3.4 expect.
 */
import {
  isToken, isValidSipDate, parseCSeq, parseMaxForwards, parseNameAddr, parseUnsigned32, parseVia,
} from './header-values.ts';
import { canonicalHeaderName, SipHeaders, splitHeaderList, type SipMessage, type SipRequest } from './message.ts';
import { parseSipUri, parseUri } from './uri.ts';

export const DEFAULT_MAX_MESSAGE_SIZE = 64 * 1024;

export interface ParseOptions {
  /** Bytes; larger input is rejected. Default 64 KiB. */
  maxMessageSize?: number;
  /**
   * Datagram (UDP) semantics: a missing Content-Length means "the rest of the
   * datagram". On a stream the framer has already cut the message, so this
   * changes nothing there. Default true.
   */
  datagram?: boolean;
}

export type ParseResult =
  | { ok: true; message: SipMessage }
  | {
      ok: false;
      reason: string;
      /** True when this was a request whose Via, From, To, Call-ID and CSeq parsed: a 400 can be sent. */
      canRespond: boolean;
      /** Suggested status for the error response (400, or 505 for a bad version, 513 for size). */
      status?: number;
      /** What did parse, when the start line and the header block could be split. */
      partial?: SipMessage;
    };

const REQUEST_LINE = /^([A-Za-z0-9\-.!%*_+`'~]+) (\S+) ([Ss][Ii][Pp]\/\d+\.\d+)$/;
const STATUS_LINE = /^([Ss][Ii][Pp]\/\d+\.\d+) (\d+) (.*)$/s;

function fail(reason: string, partial?: SipMessage, status = 400): ParseResult {
  const canRespond = partial?.kind === 'request' && hasResponseEssentials(partial);
  return partial ? { ok: false, reason, canRespond, status, partial } : { ok: false, reason, canRespond: false, status };
}

/** True when a 400 could be built: top Via, From, To, Call-ID and CSeq all parse. */
export function hasResponseEssentials(msg: SipMessage): boolean {
  const h = msg.headers;
  const via = h.getList('via')[0];
  const from = h.get('from');
  const to = h.get('to');
  const callId = h.get('call-id');
  const cseq = h.get('cseq');
  return !!via && !!parseVia(via) && !!from && !!parseNameAddr(from) && !!to && !!parseNameAddr(to) &&
    !!callId && callId.trim().length > 0 && !!cseq && !!parseCSeq(cseq);
}

/** Finds the end of the header block: returns [index of first body byte, index where the blank line starts]. */
function findHeaderEnd(buf: Buffer, from: number): [number, number] | null {
  for (let i = from; i < buf.length; i++) {
    if (buf[i] !== 0x0a) continue;
    if (buf[i + 1] === 0x0a) return [i + 2, i];
    if (buf[i + 1] === 0x0d && buf[i + 2] === 0x0a) return [i + 3, i];
  }
  return null;
}

export function parseMessage(input: Buffer, options: ParseOptions = {}): ParseResult {
  try {
    return parseUnsafe(input, options);
  } catch (err) {
    // Defensive: nothing above should throw, but the contract is "never throws".
    return { ok: false, reason: `parser error: ${(err as Error).message}`, canRespond: false };
  }
}

function parseUnsafe(input: Buffer, options: ParseOptions): ParseResult {
  const maxSize = options.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE;
  const datagram = options.datagram ?? true;
  if (input.length > maxSize) return { ok: false, reason: `message larger than ${maxSize} bytes`, canRespond: false, status: 513 };
  let start = 0;
  while (start < input.length && (input[start] === 0x0d || input[start] === 0x0a)) start++;
  if (start >= input.length) return { ok: false, reason: 'empty message', canRespond: false };
  let end = findHeaderEnd(input, start);
  // A datagram that stops right after its last header line has no body: accept the missing blank line.
  if (!end && datagram && input[input.length - 1] === 0x0a) end = [input.length, input.length - (input[input.length - 2] === 0x0d ? 2 : 1)];
  if (!end) return { ok: false, reason: 'no end of header block', canRespond: false };
  const [bodyStart, headEnd] = end;
  const head = input.toString('utf8', start, headEnd);
  const lines = head.split(/\r?\n/);
  const startLine = lines[0]!.replace(/\r$/, '');

  // Header lines, unfolded.
  const headers = new SipHeaders();
  let headerError: string | undefined;
  let current: string | undefined;
  const flush = () => {
    if (current === undefined) return;
    const colon = current.indexOf(':');
    const name = colon < 0 ? '' : current.slice(0, colon).replace(/[ \t]+$/, '');
    if (colon < 0 || !isToken(name)) headerError ??= `malformed header line: ${current.slice(0, 40)}`;
    else headers.append(name, current.slice(colon + 1).trim());
    current = undefined;
  };
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.startsWith(' ') || line.startsWith('\t')) {
      if (current === undefined) { headerError ??= 'continuation line without a header'; continue; }
      current += ' ' + line.trim();
    } else {
      flush();
      current = line;
    }
  }
  flush();

  // Start line.
  let message: SipMessage;
  let startLineError: string | undefined;
  let versionError = false;
  const rl = REQUEST_LINE.exec(startLine);
  const sl = rl ? null : STATUS_LINE.exec(startLine);
  if (rl) {
    message = { kind: 'request', method: rl[1]!, uri: rl[2]!, version: rl[3]!.toUpperCase(), headers, body: Buffer.alloc(0) };
    if (message.version !== 'SIP/2.0') { startLineError = `unsupported version ${message.version}`; versionError = true; }
    else startLineError = checkRequestUri(rl[2]!);
  } else if (sl) {
    const status = /^\d{3}$/.test(sl[2]!) ? Number(sl[2]) : NaN;
    message = { kind: 'response', status: Number.isNaN(status) ? 0 : status, reason: sl[3]!, version: sl[1]!.toUpperCase(), headers, body: Buffer.alloc(0) };
    if (Number.isNaN(status) || status < 100 || status > 699) startLineError = `bad status code ${sl[2]!.slice(0, 12)}`;
    else if (message.version !== 'SIP/2.0') startLineError = `unsupported version ${message.version}`;
  } else {
    // Still build a request-shaped partial when the first word is a method, so a 400 can be sent.
    const method = /^([A-Za-z0-9\-.!%*_+`'~]+)[ \t]/.exec(startLine)?.[1];
    if (!method || /^SIP\//i.test(method)) return fail(`malformed start line`);
    message = { kind: 'request', method, uri: '', version: 'SIP/2.0', headers, body: Buffer.alloc(0) };
    startLineError = 'malformed request line';
  }

  // Body and Content-Length.
  const available = input.length - bodyStart;
  const lengths = headers.getAll('content-length');
  let bodyLength = available;
  if (lengths.length > 0) {
    const parsed = lengths.map((v) => parseUnsigned32(v));
    if (parsed.some((n) => n === null)) return fail('malformed Content-Length', message);
    const distinct = new Set(parsed);
    if (distinct.size === 1) {
      const n = parsed[0]!;
      if (n > available) return fail(`Content-Length ${n} exceeds the ${available} bytes received`, message);
      bodyLength = n;
    } else if (!datagram) return fail('conflicting Content-Length headers', message);
    // Conflicting lengths in a datagram: keep the whole remainder; the sanity check answers 400.
  } else if (!datagram) return fail('missing Content-Length on a stream transport', message);
  message.body = Buffer.from(input.subarray(bodyStart, bodyStart + bodyLength));

  if (headerError) return fail(headerError, message);
  if (startLineError) return fail(startLineError, message, versionError ? 505 : 400);
  const headerProblem = checkHeaders(message);
  if (headerProblem) return fail(headerProblem, message);
  return { ok: true, message };
}

function checkRequestUri(uri: string): string | undefined {
  if (/[<>"]/.test(uri)) return 'Request-URI contains < > or "';
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(uri)?.[1]?.toLowerCase();
  if (!scheme) return 'Request-URI has no scheme';
  if (scheme === 'sip' || scheme === 'sips') {
    const parsed = parseSipUri(uri);
    if (!parsed) return 'malformed SIP Request-URI';
    if (Object.keys(parsed.headers).length > 0) return 'Request-URI may not carry headers';
  } else if (!parseUri(uri)) return 'malformed Request-URI';
  return undefined;
}

/** Syntax checks of the headers the stack depends on. Returns a reason or undefined. */
function checkHeaders(msg: SipMessage): string | undefined {
  const h = msg.headers;
  for (const v of h.getList('via')) {
    const via = parseVia(v);
    if (!via) return 'malformed Via';
    if (via.protocol !== 'SIP' || via.version !== '2.0') return 'unsupported Via version';
  }
  for (const name of ['from', 'to'] as const) {
    for (const v of h.getAll(name)) if (!parseNameAddr(v)) return `malformed ${canonicalHeaderName(name)}`;
  }
  for (const name of ['contact', 'route', 'record-route'] as const) {
    for (const line of h.getAll(name)) {
      if (name === 'contact' && line.trim() === '*') continue;
      const parts = splitHeaderList(line);
      if (parts.length === 0 && name !== 'contact') return `empty ${canonicalHeaderName(name)}`;
      for (const v of parts) if (!parseNameAddr(v)) return `malformed ${canonicalHeaderName(name)}`;
    }
  }
  for (const v of h.getAll('cseq')) {
    const cseq = parseCSeq(v);
    if (!cseq) return 'malformed CSeq';
    if (msg.kind === 'request' && cseq.method !== msg.method) return 'CSeq method does not match the request method';
  }
  for (const v of h.getAll('max-forwards')) if (parseMaxForwards(v) === null) return 'malformed Max-Forwards';
  for (const v of h.getAll('call-id')) if (!/^\S+$/.test(v)) return 'malformed Call-ID';
  for (const v of h.getAll('expires')) if (!/^\s*\d+\s*$/.test(v)) return 'malformed Expires';
  for (const v of h.getAll('date')) if (!isValidSipDate(v)) return 'malformed Date';
  for (const v of h.getAll('retry-after')) {
    const n = /^\s*(\d+)/.exec(v)?.[1];
    if (n === undefined || Number(n) > 0xffffffff) return 'malformed Retry-After';
  }
  return undefined;
}

/**
 * Semantic checks a UAS makes before handing a request to the transaction
 * layer (RFC 3261 8.2). Returns the response to send, or undefined when the
 * request is fine. Unknown URI schemes give 416, Max-Forwards 0 gives 483.
 */
export function checkRequestSanity(req: SipRequest): { status: number; reason: string } | undefined {
  const h = req.headers;
  for (const name of ['via', 'from', 'to', 'call-id', 'cseq']) {
    if (!h.has(name)) return { status: 400, reason: `Missing ${canonicalHeaderName(name)}` };
  }
  for (const name of ['from', 'to', 'call-id', 'cseq', 'max-forwards', 'content-type']) {
    if (h.count(name) > 1) return { status: 400, reason: `Multiple ${canonicalHeaderName(name)} headers` };
  }
  const lengths = new Set(h.getAll('content-length').map((v) => v.trim()));
  if (lengths.size > 1) return { status: 400, reason: 'Conflicting Content-Length' };
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(req.uri)?.[1]?.toLowerCase();
  if (scheme !== 'sip' && scheme !== 'sips' && scheme !== 'tel') return { status: 416, reason: 'Unsupported URI Scheme' };
  const mf = h.get('max-forwards');
  if (mf !== undefined && parseMaxForwards(mf) === 0 && req.method !== 'ACK') return { status: 483, reason: 'Too Many Hops' };
  return undefined;
}
