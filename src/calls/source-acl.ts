/**
 * Is a source address inside a number's allowed CIDRs? Entries are read with
 * the one strict parser (media/sip/cidr.ts) and matched with node:net's
 * BlockList (IPv4 and IPv6 subnets, no dependency).
 *
 * Matching (families kept apart, IPv4-mapped sources) is media/sip/cidr-set.ts.
 * An entry the parser refuses (an empty prefix after "/", a
 * signed or out-of-range prefix, a bad address) is ignored: it never widens
 * the list. Whole-family entries (0.0.0.0/0) are honoured here: they reach the
 * database only when the operator confirmed them (`--allow-any`).
 */
import { CidrError, parseCidr, type Cidr } from '../../media/sip/cidr.ts';
import { CidrSet, normalizeAddress } from '../../media/sip/cidr-set.ts';

export { normalizeAddress };

function parsedOrUndefined(entry: string): Cidr | undefined {
  try {
    return parseCidr(entry, { allowAny: true });
  } catch (error) {
    if (error instanceof CidrError) return undefined;
    throw error;
  }
}

export function sourceAllowed(cidrs: readonly string[], address: string): boolean {
  return new CidrSet(cidrs.map(parsedOrUndefined).filter((c): c is Cidr => c !== undefined)).has(address);
}
