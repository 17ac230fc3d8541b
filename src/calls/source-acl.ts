/**
 * Is a source address inside a number's allowed CIDRs? Entries are read with
 * the one strict parser (media/sip/cidr.ts) and matched with node:net's
 * BlockList (IPv4 and IPv6 subnets, no dependency).
 *
 * Families are kept apart on purpose: an IPv4 source matches IPv4 entries and
 * IPv4-mapped IPv6 entries (::ffff:10.0.0.0/104 is 10.0.0.0/8); an IPv4-mapped
 * IPv6 source (::ffff:a.b.c.d, dotted or hex) counts as the IPv4 address; a
 * native IPv6 source matches only native IPv6 entries. So `::/0` means "any
 * IPv6 source", not "everything" (BlockList on its own would let it match every
 * IPv4 address). An entry the parser refuses (an empty prefix after "/", a
 * signed or out-of-range prefix, a bad address) is ignored: it never widens
 * the list. Whole-family entries (0.0.0.0/0) are honoured here: they reach the
 * database only when the operator confirmed them (`--allow-any`).
 */
import { BlockList, isIP } from 'node:net';
import { CidrError, mappedIpv4, parseCidr, type Cidr } from '../../media/sip/cidr.ts';

/** IPv4-mapped IPv6 addresses become IPv4; anything else is returned unchanged. */
export function normalizeAddress(address: string): string {
  return isIP(address) === 6 ? mappedIpv4(address) ?? address : address;
}

function parsedOrUndefined(entry: string): Cidr | undefined {
  try {
    return parseCidr(entry, { allowAny: true });
  } catch (error) {
    if (error instanceof CidrError) return undefined;
    throw error;
  }
}

export function sourceAllowed(cidrs: readonly string[], address: string): boolean {
  const ip = normalizeAddress(address);
  const family = isIP(ip);
  if (family === 0) return false;
  const v4 = new BlockList();
  const v6 = new BlockList();
  for (const entry of cidrs) {
    const cidr = parsedOrUndefined(entry);
    if (!cidr) continue;
    if (cidr.family === 4) { v4.addSubnet(cidr.address, cidr.prefix, 'ipv4'); continue; }
    const mapped = cidr.prefix >= 96 ? mappedIpv4(cidr.address) : undefined;
    if (mapped !== undefined) v4.addSubnet(mapped, cidr.prefix - 96, 'ipv4');
    else v6.addSubnet(cidr.address, cidr.prefix, 'ipv6');
  }
  return family === 4 ? v4.check(ip, 'ipv4') : v6.check(ip.replace(/%.*$/, ''), 'ipv6');
}
