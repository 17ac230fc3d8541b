/**
 * A set of CIDR entries to test addresses against, built once: the call
 * admission ACL and the flood guard's trusted sources match through it.
 * Entries are read with the one strict parser (cidr.ts) and matched with
 * node:net's BlockList (IPv4 and IPv6 subnets, no dependency).
 *
 * Families are kept apart on purpose: an IPv4 source matches IPv4 entries and
 * IPv4-mapped IPv6 entries (::ffff:10.0.0.0/104 is 10.0.0.0/8); an IPv4-mapped
 * IPv6 source (::ffff:a.b.c.d, dotted or hex) counts as the IPv4 address; a
 * native IPv6 source matches only native IPv6 entries. So `::/0` means "any
 * IPv6 source", not "everything" (BlockList on its own would let it match every
 * IPv4 address).
 */
import { BlockList, isIP } from 'node:net';
import { mappedIpv4, type Cidr } from './cidr.ts';

/** IPv4-mapped IPv6 addresses become IPv4; anything else is returned unchanged. */
export function normalizeAddress(address: string): string {
  return isIP(address) === 6 ? mappedIpv4(address) ?? address : address;
}

export class CidrSet {
  private readonly v4 = new BlockList();
  private readonly v6 = new BlockList();
  readonly size: number;

  constructor(entries: readonly Cidr[]) {
    for (const cidr of entries) {
      if (cidr.family === 4) { this.v4.addSubnet(cidr.address, cidr.prefix, 'ipv4'); continue; }
      const mapped = cidr.prefix >= 96 ? mappedIpv4(cidr.address) : undefined;
      if (mapped !== undefined) this.v4.addSubnet(mapped, cidr.prefix - 96, 'ipv4');
      else this.v6.addSubnet(cidr.address, cidr.prefix, 'ipv6');
    }
    this.size = entries.length;
  }

  /** Is `address` (an IP address, any form) inside one of the entries? Not an address: false. */
  has(address: string): boolean {
    if (this.size === 0) return false;
    const ip = normalizeAddress(address);
    const family = isIP(ip);
    if (family === 4) return this.v4.check(ip, 'ipv4');
    if (family === 6) return this.v6.check(ip.replace(/%.*$/, ''), 'ipv6');
    return false;
  }
}
