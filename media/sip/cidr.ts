/**
 * The one CIDR parser: every allowlist entry (CLI `--allow`, the numbers
 * repository, the call admission ACL) goes through `parseCidr`, so a form one
 * place refuses can never be read wider somewhere else.
 *
 * Strict on purpose (an allowlist typo must fail, not open a number):
 *  - an address is a dotted quad without leading zeros, or an IPv6 address
 *    without a zone id; a bare address is one host (/32, /128);
 *  - a prefix length is decimal digits only: no sign, no space, no leading
 *    zero ("08"), not empty ("203.0.113.7/" is refused, never read as /0),
 *    at most 32 / 128;
 *  - no bits may be set after the prefix ("10.1.2.3/8" is refused: write
 *    10.0.0.0/8 or 10.1.2.3/32);
 *  - an entry that admits a whole family (0.0.0.0/0, ::/0, ::ffff:0:0/96)
 *    is refused unless the caller says `allowAny`.
 * IPv4-mapped IPv6 entries (::ffff:a.b.c.d/≥96) are IPv4 entries in disguise:
 * `mappedIpv4` reports them so the ACL can match them as IPv4.
 */
import { isIP } from 'node:net';

export interface Cidr {
  family: 4 | 6;
  /** The network address as written (IPv6 lower-cased). */
  address: string;
  prefix: number;
  /** Canonical text, `address/prefix`: what is stored. */
  text: string;
  /** True when the entry admits every address of its family (IPv4 through a mapped entry counts). */
  any: boolean;
}

export type CidrProblem = 'empty' | 'space' | 'slashes' | 'empty-prefix' | 'bad-prefix' | 'prefix-range' | 'address' | 'zone' | 'host-bits' | 'any';

/** A refused entry; `message` is one line and quotes the entry. */
export class CidrError extends Error {
  override name = 'CidrError';
  constructor(readonly problem: CidrProblem, readonly entry: string, reason: string) {
    super(`${JSON.stringify(entry)}: ${reason}`);
  }
}

const IPV4 = /^(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})$/;
const PREFIX = /^(0|[1-9]\d{0,2})$/;

/** The 4 bytes of a strict dotted quad, else undefined. */
function ipv4Bytes(address: string): number[] | undefined {
  const m = IPV4.exec(address);
  if (!m) return undefined;
  const bytes = m.slice(1, 5).map(Number);
  return bytes.every((b) => b <= 255) ? bytes : undefined;
}

/** The 16 bytes of an IPv6 address (a zone id is ignored), else undefined. */
export function ipv6Bytes(address: string): number[] | undefined {
  const text = address.replace(/%.*$/, '');
  if (isIP(text) !== 6) return undefined;
  const groups = (part: string): number[] => {
    const out: number[] = [];
    if (!part) return out;
    for (const g of part.split(':')) {
      if (g.includes('.')) for (const o of g.split('.')) out.push(Number(o));
      else { const v = parseInt(g, 16); out.push(v >> 8, v & 0xff); }
    }
    return out;
  };
  const [head = '', tail] = text.split('::');
  const left = groups(head);
  const right = tail === undefined ? [] : groups(tail);
  const bytes = [...left, ...new Array<number>(16 - left.length - right.length).fill(0), ...right];
  return bytes.length === 16 ? bytes : undefined;
}

/** The IPv4 address inside an IPv4-mapped IPv6 address (::ffff:a.b.c.d, dotted or hex), else undefined. */
export function mappedIpv4(address: string): string | undefined {
  const b = ipv6Bytes(address);
  if (!b || b.slice(0, 10).some((x) => x !== 0) || b[10] !== 0xff || b[11] !== 0xff) return undefined;
  return b.slice(12).join('.');
}

function hostBitsSet(bytes: readonly number[], prefix: number): boolean {
  return bytes.some((byte, i) => {
    const keep = Math.max(0, Math.min(8, prefix - i * 8));
    const mask = keep === 0 ? 0 : (0xff << (8 - keep)) & 0xff;
    return (byte & ~mask & 0xff) !== 0;
  });
}

/** Parses one allowlist entry, or throws a CidrError saying what is wrong with it. */
export function parseCidr(entry: string, options: { allowAny?: boolean } = {}): Cidr {
  if (entry.trim() === '') throw new CidrError('empty', entry, 'is empty, not an IP address or CIDR');
  if (/\s/.test(entry)) throw new CidrError('space', entry, 'has spaces in it');
  const parts = entry.split('/');
  if (parts.length > 2) throw new CidrError('slashes', entry, 'has more than one "/"');
  const [rawAddress = '', bits] = parts;
  if (rawAddress.includes('%')) throw new CidrError('zone', entry, 'has a zone id ("%..."), which an allowlist cannot use');
  const v4 = ipv4Bytes(rawAddress);
  const v6 = v4 ? undefined : ipv6Bytes(rawAddress);
  if (!v4 && !v6) throw new CidrError('address', entry, `"${rawAddress}" is not an IPv4 address (four decimal numbers 0-255, no leading zeros) or an IPv6 address`);
  const family = v4 ? 4 : 6;
  const max = family === 4 ? 32 : 128;
  let prefix = max;
  if (bits !== undefined) {
    if (bits === '') throw new CidrError('empty-prefix', entry, 'has nothing after "/" (write the prefix length, e.g. /32)');
    if (!PREFIX.test(bits)) throw new CidrError('bad-prefix', entry, `prefix length "${bits}" must be decimal digits 0-${max}, without a sign or a leading zero`);
    prefix = Number(bits);
    if (prefix > max) throw new CidrError('prefix-range', entry, `prefix length ${prefix} is more than ${max} for IPv${family}`);
  }
  const address = family === 4 ? rawAddress : rawAddress.toLowerCase();
  if (hostBitsSet(v4 ?? v6!, prefix)) {
    throw new CidrError('host-bits', entry, `has address bits set after the /${prefix} prefix (write the network address, or /${max} for one host)`);
  }
  const mapped = family === 6 && prefix >= 96 ? mappedIpv4(address) : undefined;
  const any = prefix === 0 || (mapped !== undefined && prefix === 96);
  if (any && !options.allowAny) {
    throw new CidrError('any', entry, `admits every ${family === 4 || mapped !== undefined ? 'IPv4' : 'IPv6'} source; refused unless explicitly allowed`);
  }
  return { family, address, prefix, text: `${address}/${prefix}`, any };
}
