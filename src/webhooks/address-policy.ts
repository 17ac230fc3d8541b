/**
 * Which addresses a webhook may be sent to (SSRF defence). Checked at send
 * time on every address the host name resolves to, so a name that points at
 * an internal address (or is re-pointed after the endpoint was saved) is
 * refused. Refused: unspecified, loopback, private (RFC 1918, ULA), shared
 * address space (CGNAT), link-local (which holds the cloud metadata services
 * 169.254.169.254 and fd00:ec2::254 is in the ULA range), multicast,
 * reserved and documentation ranges. IPv4-mapped (::ffff:a.b.c.d), IPv4-
 * compatible and NAT64 (64:ff9b::/96) IPv6 addresses are judged by the IPv4
 * address they carry. Loopback alone can be allowed (tests, local development).
 */
import { BlockList, isIP } from 'node:net';

const blocked = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['169.254.0.0', 16], ['172.16.0.0', 12], ['192.0.0.0', 24], ['192.0.2.0', 24],
  ['192.88.99.0', 24], ['192.168.0.0', 16], ['198.18.0.0', 15], ['198.51.100.0', 24], ['203.0.113.0', 24], ['224.0.0.0', 4], ['240.0.0.0', 4],
] as const) blocked.addSubnet(net, prefix, 'ipv4');
for (const [net, prefix] of [
  ['::', 128], ['100::', 64], ['2001::', 23], ['2001:db8::', 32], ['fc00::', 7], ['fe80::', 10], ['fec0::', 10], ['ff00::', 8],
] as const) blocked.addSubnet(net, prefix, 'ipv6');

const loopback = new BlockList();
loopback.addSubnet('127.0.0.0', 8, 'ipv4');
loopback.addAddress('::1', 'ipv6');

export type AddressVerdict = { allowed: true } | { allowed: false; why: string };

/** The IPv4 address an IPv6 address embeds (mapped, compatible, NAT64), if any. */
export function embeddedIpv4(address: string): string | undefined {
  const lower = address.toLowerCase();
  const dotted = /^(?:::ffff:(?:0:)?|::|64:ff9b::)(\d+\.\d+\.\d+\.\d+)$/.exec(lower);
  if (dotted) return dotted[1];
  const hex = /^(?:::ffff:(?:0:)?|::|64:ff9b::)([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(lower);
  if (hex) {
    const hi = parseInt(hex[1]!, 16);
    const lo = parseInt(hex[2]!, 16);
    return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
  }
  return undefined;
}

export function checkAddress(address: string, options: { allowLoopback?: boolean } = {}): AddressVerdict {
  const family = isIP(address);
  if (family === 0) return { allowed: false, why: 'not an IP address' };
  if (family === 6) {
    const v4 = embeddedIpv4(address);
    if (v4 !== undefined) return checkAddress(v4, options);
  }
  const type = family === 4 ? 'ipv4' : 'ipv6';
  if (loopback.check(address, type)) return options.allowLoopback ? { allowed: true } : { allowed: false, why: 'a loopback address' };
  if (blocked.check(address, type)) return { allowed: false, why: 'a private, link-local, metadata or reserved address' };
  return { allowed: true };
}
