/**
 * Is a source address inside a number's allowed CIDRs? Uses node:net's
 * BlockList (IPv4 and IPv6 subnets, no dependency); IPv4-mapped IPv6
 * addresses (::ffff:a.b.c.d) count as IPv4.
 */
import { BlockList, isIP } from 'node:net';

export function normalizeAddress(address: string): string {
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  return m ? m[1]! : address;
}

export function sourceAllowed(cidrs: readonly string[], address: string): boolean {
  const ip = normalizeAddress(address);
  const family = isIP(ip);
  if (family === 0) return false;
  const list = new BlockList();
  for (const cidr of cidrs) {
    const [net, bits] = cidr.trim().split('/');
    const netFamily = isIP(net ?? '');
    if (!net || netFamily === 0) continue;
    const type = netFamily === 6 ? 'ipv6' : 'ipv4';
    if (bits === undefined) list.addAddress(net, type);
    else {
      const prefix = Number(bits);
      if (!Number.isInteger(prefix) || prefix < 0 || prefix > (netFamily === 6 ? 128 : 32)) continue;
      list.addSubnet(net, prefix, type);
    }
  }
  return list.check(ip, family === 6 ? 'ipv6' : 'ipv4');
}
