/**
 * Called numbers, as the operator (CLI) and the API change them: the carrier
 * ACL read by the one strict CIDR parser (media/sip/cidr.ts), digest
 * credentials taken as a password and stored only as HA1 hashes (MD5 and
 * SHA-256; the password is never stored nor returned), the digest algorithms
 * a number offers, and a number nobody could call refused. Every change is
 * audited by number id (a called number is the tenant's own line, not a
 * caller's number, but ids are enough).
 */
import { CidrError, ha1, parseCidr, parseDigestAlgorithms, type DigestAlgorithm } from '../../media/sip/index.ts';
import {
  addNumber, audit, deleteNumber as removeNumber, getAgentById, getNumber as findNumber, updateNumber as changeNumber, type Database, type NumberRow,
} from '../../storage/index.ts';
import { auditBy, conflict, invalid, isUniqueViolation, notFound, type Actor } from './errors.ts';

export const NUMBER_PATTERN = /^[A-Za-z0-9+*#._-]{1,64}$/;
export const MIN_DIGEST_PASSWORD = 8;
export const DEFAULT_DIGEST_REALM = 'smartalex';

/**
 * ACL entries in canonical form (a bare address is one host). A whole-family entry (0.0.0.0/0, ::/0)
 * needs `allowAny`, and `allowAny` needs one. `names` are the inputs' names in messages (CLI: --allow, --allow-any).
 */
export function canonicalCidrs(entries: readonly string[], allowAny: boolean, names: { list: string; confirm: string } = { list: 'allowedCidrs', confirm: 'allowAnySource' }): string[] {
  const parsed = entries.map((entry) => {
    try {
      return parseCidr(entry, { allowAny });
    } catch (error) {
      if (!(error instanceof CidrError)) throw error;
      throw invalid(`${names.list} ${error.message}${error.problem === 'any' ? `; add ${names.confirm} if that is meant` : ''}`, names.list);
    }
  });
  if (allowAny && !parsed.some((c) => c.any)) throw invalid(`${names.confirm} confirms an ${names.list} 0.0.0.0/0 or ::/0 entry, and none was given`, names.list);
  return parsed.map((c) => c.text);
}

export interface DigestCredentials { username: string; realm: string; ha1Md5: string; ha1Sha256: string }

/** HA1 hashes for both algorithms from a password (which is not kept). */
export function digestCredentials(username: string, realm: string | undefined, password: string): DigestCredentials {
  if (!/^[^\s:"\\\u0000-\u001f]{1,64}$/.test(username)) throw invalid('the digest username must be 1-64 characters without spaces, quotes, colons or backslashes', 'digest.username');
  const r = realm ?? DEFAULT_DIGEST_REALM;
  if (!/^[^"\\\u0000-\u001f]{1,64}$/.test(r)) throw invalid('the digest realm must be 1-64 characters without quotes or backslashes', 'digest.realm');
  if (password.length < MIN_DIGEST_PASSWORD) throw invalid(`digest password must be at least ${MIN_DIGEST_PASSWORD} characters`, 'digest.password');
  return { username, realm: r, ha1Md5: ha1('MD5', username, r, password), ha1Sha256: ha1('SHA-256', username, r, password) };
}

export function checkDigestAlgorithms(list: readonly string[]): DigestAlgorithm[] {
  try {
    return parseDigestAlgorithms(list.join(','));
  } catch (error) {
    throw invalid(`digestAlgorithms: ${(error as Error).message}`, 'digestAlgorithms');
  }
}

export interface NewNumber {
  number: string;
  agentId: string;
  allowedCidrs: string[];
  allowAnySource?: boolean | undefined;
  digest?: DigestCredentials | undefined;
  digestAlgorithms?: DigestAlgorithm[] | undefined;
  /** Calls to this number must offer SRTP (RTP/SAVP); others are refused with 488. */
  requireSrtp?: boolean | undefined;
}

function reachable(cidrs: readonly string[], digest: unknown): void {
  if (cidrs.length === 0 && !digest) throw invalid('give allowed source addresses and/or digest credentials, or no carrier can call this number', 'allowedCidrs');
}

async function requireAgent(db: Database, tenantId: string, agentId: string): Promise<void> {
  // Another tenant's agent is invisible here: the same answer as an agent that does not exist.
  if (!(await getAgentById(db, tenantId, agentId))) throw invalid('agentId names no agent of this tenant', 'agentId');
}

export async function createNumber(db: Database, tenantId: string, input: NewNumber, who: Actor): Promise<NumberRow> {
  if (!NUMBER_PATTERN.test(input.number)) throw invalid('number must be 1-64 characters of digits, letters, + * # . _ -', 'number');
  const allowedCidrs = canonicalCidrs(input.allowedCidrs, input.allowAnySource === true);
  reachable(allowedCidrs, input.digest);
  if (input.digestAlgorithms && !input.digest) throw invalid('digestAlgorithms needs digest credentials', 'digestAlgorithms');
  await requireAgent(db, tenantId, input.agentId);
  let row: NumberRow;
  try {
    row = await addNumber(db, tenantId, {
      number: input.number, agentId: input.agentId, allowedCidrs, allowAnySource: input.allowAnySource === true,
      ...(input.digest ? { digest: input.digest } : {}), ...(input.digestAlgorithms ? { digestAlgorithms: input.digestAlgorithms } : {}),
      requireSrtp: input.requireSrtp === true,
    });
  } catch (error) {
    // Numbers are unique across tenants (a call is routed by the number alone).
    if (isUniqueViolation(error)) throw conflict('that number is already in use');
    throw error;
  }
  await audit(db, tenantId, { ...auditBy(who), action: 'number.added', target: row.id, detail: { agentId: row.agentId, digest: Boolean(input.digest), cidrs: allowedCidrs.length } });
  return row;
}

export async function getNumber(db: Database, tenantId: string, id: string): Promise<NumberRow> {
  const row = await findNumber(db, tenantId, id);
  if (!row) throw notFound('number');
  return row;
}

export interface NumberUpdate {
  agentId?: string | undefined;
  allowedCidrs?: string[] | undefined;
  allowAnySource?: boolean | undefined;
  /** New credentials, or null to turn digest auth off. */
  digest?: DigestCredentials | null | undefined;
  digestAlgorithms?: DigestAlgorithm[] | null | undefined;
  requireSrtp?: boolean | undefined;
}

export async function updateNumber(db: Database, tenantId: string, id: string, changes: NumberUpdate, who: Actor): Promise<NumberRow> {
  const current = await getNumber(db, tenantId, id);
  const allowedCidrs = changes.allowedCidrs === undefined ? undefined : canonicalCidrs(changes.allowedCidrs, changes.allowAnySource === true);
  if (changes.allowAnySource !== undefined && changes.allowedCidrs === undefined) throw invalid('allowAnySource goes with the allowedCidrs it confirms', 'allowAnySource');
  const digest = changes.digest === undefined ? current.digestUsername : changes.digest;
  reachable(allowedCidrs ?? current.allowedCidrs, digest);
  if (changes.digestAlgorithms && !digest) throw invalid('digestAlgorithms needs digest credentials', 'digestAlgorithms');
  if (changes.agentId !== undefined) await requireAgent(db, tenantId, changes.agentId);
  const row = await changeNumber(db, tenantId, id, {
    agentId: changes.agentId,
    allowedCidrs,
    allowAnySource: changes.allowAnySource,
    digest: changes.digest,
    // Turning digest off clears the algorithm choice with it.
    digestAlgorithms: changes.digest === null ? null : changes.digestAlgorithms,
    requireSrtp: changes.requireSrtp,
  });
  if (!row) throw notFound('number');
  const fields = Object.entries(changes).filter(([, v]) => v !== undefined).map(([k]) => k);
  await audit(db, tenantId, { ...auditBy(who), action: 'number.updated', target: id, detail: { fields } });
  return row;
}

export async function deleteNumber(db: Database, tenantId: string, id: string, who: Actor): Promise<void> {
  const row = await removeNumber(db, tenantId, id);
  if (!row) throw notFound('number');
  await audit(db, tenantId, { ...auditBy(who), action: 'number.deleted', target: id });
}
