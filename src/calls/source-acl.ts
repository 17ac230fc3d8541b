/**
 * Is a source address inside a number's allowed CIDRs? Uses node:net's
 * BlockList (IPv4 and IPv6 subnets, no dependency).
 *
 * Families are kept apart on purpose: an IPv4 source matches IPv4 entries and
 * IPv4-mapped IPv6 entries (::ffff:10.0.0.0/104 is 10.0.0.0/8); an IPv4-mapped
 * IPv6 source (::ffff:a.b.c.d, dotted or hex) counts as the IPv4 address; a
 * native IPv6 source matches only native IPv6 entries. So `::/0` means "any
 * IPv6 source", not "everything" (BlockList on its own would let it match every
 * IPv4 address). Malformed entries (no address, a prefix that is not 0..32 /
 * 0..128, an empty prefix after "/") are ignored: they never widen the list.
 */
import { BlockList, isIP } from 'node:net';

/** The 16 bytes of an IPv6 address (zone id ignored), or undefined when it is not one. */
function ipv6Bytes(address: string): number[] | undefined {
  const text = address.replace(/%.*$/, '');
  if (isIP(text) !== 6) return undefined;
  const bytes: number[] = [];
  const pushGroups = (part: string): number[] => {
    const out: number[] = [];
    if (!part) return out;
    for (const g of part.split(':')) {
      if (g.includes('.')) for (const o of g.split('.')) out.push(Number(o));
      else { const v = parseInt(g, 16); out.push(v >> 8, v & 0xff); }
    }
    return out;
  };
  const [head = '', tail] = text.split('::');
  const left = pushGroups(head);
  const right = tail === undefined ? [] : pushGroups(tail);
  bytes.push(...left, ...new Array<number>(16 - left.length - right.length).fill(0), ...right);
  return bytes.length === 16 ? bytes : undefined;
}

/** The IPv4 address inside an IPv4-mapped IPv6 address (::ffff:a.b.c.d), else undefined. */
function mappedIpv4(address: string): string | undefined {
  const b = ipv6Bytes(address);
  if (!b || b.slice(0, 10).some((x) => x !== 0) || b[10] !== 0xff || b[11] !== 0xff) return undefined;
  return b.slice(12).join('.');
}

/** IPv4-mapped IPv6 addresses become IPv4; anything else is returned unchanged. */
export function normalizeAddress(address: string): string {
  return isIP(address) === 6 ? mappedIpv4(address) ?? address : address;
}

export function sourceAllowed(cidrs: readonly string[], address: string): boolean {
  const ip = normalizeAddress(address);
  const family = isIP(ip);
  if (family === 0) return false;
  const v4 = new BlockList();
  const v6 = new BlockList();
  for (const cidr of cidrs) {
    const [net = '', bits, extra] = cidr.trim().split('/');
    const netFamily = isIP(net);
    if (netFamily === 0 || extra !== undefined) continue;
    const max = netFamily === 6 ? 128 : 32;
    let prefix = max;
    if (bits !== undefined) {
      if (!/^\d{1,3}$/.test(bits) || Number(bits) > max) continue;
      prefix = Number(bits);
    }
    if (netFamily === 4) { v4.addSubnet(net, prefix, 'ipv4'); continue; }
    const mapped = mappedIpv4(net);
    if (mapped !== undefined && prefix >= 96) v4.addSubnet(mapped, prefix - 96, 'ipv4');
    else v6.addSubnet(net.replace(/%.*$/, ''), prefix, 'ipv6');
  }
  return family === 4 ? v4.check(ip, 'ipv4') : v6.check(ip.replace(/%.*$/, ''), 'ipv6');
}
