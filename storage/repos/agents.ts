/** Agents and the numbers that route calls to them. */
import { and, asc, count, eq, getTableColumns, or, sql } from 'drizzle-orm';
import { parseCidr } from '../../media/sip/cidr.ts';
import { parseDigestAlgorithms, type DigestAlgorithm } from '../../media/sip/digest.ts';
import type { Database } from '../database.ts';
import { rows } from '../migrate.ts';
import { agents, numbers } from '../schema.ts';
import { withoutTenant, withTenant } from '../tenant-scope.ts';
import { afterTimestamp, decodeCursor, encodeCursor, micros, pageOf, type Page, type PageRequest } from './page.ts';

export type AgentMode = 'conversation' | 'echo' | 'greeting';

export interface AgentInput {
  name: string;
  mode?: AgentMode;
  prompt?: string;
  greeting?: string;
  voice?: string;
  providerSettings?: Record<string, unknown>;
  recordingEnabled?: boolean;
  retentionDays?: number | null;
  transferTarget?: string | null;
}

export type AgentRow = typeof agents.$inferSelect;

export async function createAgent(db: Database, tenantId: string, input: AgentInput): Promise<AgentRow> {
  return withTenant(db, tenantId, async (tx) => {
    const [row] = await tx.insert(agents).values({ ...input, tenantId }).returning();
    return row!;
  });
}

export async function listAgents(db: Database, tenantId: string): Promise<AgentRow[]> {
  return withTenant(db, tenantId, (tx) => tx.select().from(agents).orderBy(asc(agents.createdAt)));
}

export async function getAgent(db: Database, tenantId: string, idOrName: string): Promise<AgentRow | undefined> {
  // One statement: by name or id; a name match wins over an agent whose id is that text.
  const maybeId = /^[0-9a-f-]{36}$/i.test(idOrName);
  return withTenant(db, tenantId, async (tx) => {
    const found = await tx.select().from(agents).where(maybeId ? or(eq(agents.name, idOrName), eq(agents.id, idOrName)) : eq(agents.name, idOrName));
    return found.find((a) => a.name === idOrName) ?? found[0];
  });
}

/** By id only (the API's lookups: a name is not an id). */
export async function getAgentById(db: Database, tenantId: string, id: string): Promise<AgentRow | undefined> {
  return withTenant(db, tenantId, async (tx) => (await tx.select().from(agents).where(eq(agents.id, id)))[0]);
}

/** The tenant's agents, oldest first, one page at a time. */
export async function listAgentsPage(db: Database, tenantId: string, page: PageRequest): Promise<Page<AgentRow>> {
  const found = await withTenant(db, tenantId, (tx) => tx.select({ ...getTableColumns(agents), key: micros(agents.createdAt) }).from(agents)
    .where(afterTimestamp(agents.createdAt, agents.id, page.cursor, 'asc')).orderBy(asc(agents.createdAt), asc(agents.id)).limit(page.limit + 1));
  const result = pageOf(found, page.limit, (row) => encodeCursor(row.key, row.id));
  return { items: result.items.map(({ key: _key, ...row }) => row), next: result.next };
}

/** Changes the given fields; undefined when the tenant has no such agent. */
export async function updateAgent(db: Database, tenantId: string, id: string, changes: Partial<Omit<AgentInput, 'providerSettings'>> & { providerSettings?: Record<string, unknown> }): Promise<AgentRow | undefined> {
  const set = Object.fromEntries(Object.entries(changes).filter(([, v]) => v !== undefined));
  if (Object.keys(set).length === 0) return getAgentById(db, tenantId, id);
  return withTenant(db, tenantId, async (tx) => (await tx.update(agents).set(set).where(eq(agents.id, id)).returning())[0]);
}

export class AgentInUseError extends Error {
  override name = 'AgentInUseError';
  constructor(readonly numbers: number) { super(`${numbers} number(s) still route to this agent; move or delete them first`); }
}

/**
 * Deletes an agent no number routes to (numbers would go with it: their foreign key cascades, and a
 * carrier's calls would start failing); its past calls keep their rows with the agent unset.
 * False when the tenant has no such agent; AgentInUseError while numbers use it.
 */
export async function deleteAgent(db: Database, tenantId: string, id: string): Promise<boolean> {
  return withTenant(db, tenantId, async (tx) => {
    const [used] = await tx.select({ n: count() }).from(numbers).where(eq(numbers.agentId, id));
    if (used && used.n > 0) throw new AgentInUseError(used.n);
    return (await tx.delete(agents).where(eq(agents.id, id)).returning({ id: agents.id })).length > 0;
  });
}

export interface NumberInput {
  number: string;
  agentId: string;
  /** Checked with the strict parser (media/sip/cidr.ts) and stored in canonical form. */
  allowedCidrs: string[];
  /** Confirms whole-family entries (0.0.0.0/0, ::/0); without it they are refused. */
  allowAnySource?: boolean;
  digest?: { username: string; realm: string; ha1Md5: string; ha1Sha256: string };
  /** Offered (in order) and accepted digest algorithms; omitted or null: the server default. */
  digestAlgorithms?: DigestAlgorithm[] | null;
  /** Calls must use SRTP over SIP TLS (RTP/SAVP only); default false. */
  requireSrtp?: boolean;
}

export type NumberRow = typeof numbers.$inferSelect;

export async function addNumber(db: Database, tenantId: string, input: NumberInput): Promise<NumberRow> {
  return withTenant(db, tenantId, async (tx) => {
    const agent = await tx.select({ id: agents.id }).from(agents).where(and(eq(agents.id, input.agentId), eq(agents.tenantId, tenantId)));
    if (!agent[0]) throw new Error('agent not found in this tenant');
    const allowedCidrs = input.allowedCidrs.map((entry) => parseCidr(entry, { allowAny: input.allowAnySource === true }).text);
    const digestAlgorithms = input.digestAlgorithms ? parseDigestAlgorithms(input.digestAlgorithms.join(',')) : null;
    const [row] = await tx.insert(numbers).values({
      tenantId,
      number: input.number,
      agentId: input.agentId,
      allowedCidrs,
      digestAlgorithms,
      requireSrtp: input.requireSrtp === true,
      digestUsername: input.digest?.username ?? null,
      digestRealm: input.digest?.realm ?? null,
      digestHa1Md5: input.digest?.ha1Md5 ?? null,
      digestHa1Sha256: input.digest?.ha1Sha256 ?? null,
    }).returning();
    return row!;
  });
}

export async function listNumbers(db: Database, tenantId: string): Promise<NumberRow[]> {
  return withTenant(db, tenantId, (tx) => tx.select().from(numbers).orderBy(asc(numbers.number)));
}

export async function getNumber(db: Database, tenantId: string, id: string): Promise<NumberRow | undefined> {
  return withTenant(db, tenantId, async (tx) => (await tx.select().from(numbers).where(eq(numbers.id, id)))[0]);
}

/** The tenant's numbers in number order, one page at a time. */
export async function listNumbersPage(db: Database, tenantId: string, filter: { agentId?: string | undefined }, page: PageRequest): Promise<Page<NumberRow>> {
  const after = page.cursor === undefined ? undefined : decodeCursor(page.cursor, { key: 'text', id: 'uuid' });
  const found = await withTenant(db, tenantId, (tx) => tx.select().from(numbers)
    .where(and(
      filter.agentId ? eq(numbers.agentId, filter.agentId) : undefined,
      after ? sql`(${numbers.number}, ${numbers.id}) > (${String(after[0])}, ${String(after[1])}::uuid)` : undefined,
    ))
    .orderBy(asc(numbers.number), asc(numbers.id)).limit(page.limit + 1));
  return pageOf(found, page.limit, (row) => encodeCursor(row.number, row.id));
}

export interface NumberChanges {
  agentId?: string | undefined;
  /** Replaces the list; checked like NumberInput.allowedCidrs. */
  allowedCidrs?: string[] | undefined;
  allowAnySource?: boolean | undefined;
  /** New credentials, or null to remove digest auth. */
  digest?: { username: string; realm: string; ha1Md5: string; ha1Sha256: string } | null | undefined;
  digestAlgorithms?: DigestAlgorithm[] | null | undefined;
  /** Calls must use SRTP over SIP TLS. */
  requireSrtp?: boolean | undefined;
}

/** Changes a number's agent, ACL, digest or SRTP settings; undefined when the tenant has no such number. */
export async function updateNumber(db: Database, tenantId: string, id: string, changes: NumberChanges): Promise<NumberRow | undefined> {
  return withTenant(db, tenantId, async (tx) => {
    if (changes.agentId !== undefined) {
      const agent = await tx.select({ id: agents.id }).from(agents).where(and(eq(agents.id, changes.agentId), eq(agents.tenantId, tenantId)));
      if (!agent[0]) throw new Error('agent not found in this tenant');
    }
    const set: Partial<typeof numbers.$inferInsert> = {};
    if (changes.agentId !== undefined) set.agentId = changes.agentId;
    if (changes.allowedCidrs !== undefined) set.allowedCidrs = changes.allowedCidrs.map((entry) => parseCidr(entry, { allowAny: changes.allowAnySource === true }).text);
    if (changes.digest !== undefined) {
      set.digestUsername = changes.digest?.username ?? null;
      set.digestRealm = changes.digest?.realm ?? null;
      set.digestHa1Md5 = changes.digest?.ha1Md5 ?? null;
      set.digestHa1Sha256 = changes.digest?.ha1Sha256 ?? null;
    }
    if (changes.digestAlgorithms !== undefined) set.digestAlgorithms = changes.digestAlgorithms ? parseDigestAlgorithms(changes.digestAlgorithms.join(',')) : null;
    if (changes.requireSrtp !== undefined) set.requireSrtp = changes.requireSrtp;
    if (Object.keys(set).length === 0) return (await tx.select().from(numbers).where(eq(numbers.id, id)))[0];
    return (await tx.update(numbers).set(set).where(eq(numbers.id, id)).returning())[0];
  });
}

export async function deleteNumber(db: Database, tenantId: string, id: string): Promise<NumberRow | undefined> {
  return withTenant(db, tenantId, async (tx) => (await tx.delete(numbers).where(eq(numbers.id, id)).returning())[0]);
}

export interface NumberRoute {
  tenantId: string;
  numberId: string;
  agentId: string;
  allowedCidrs: string[];
  digest?: { username: string; realm: string; ha1Md5: string | null; ha1Sha256: string | null };
  /** The number's own digest algorithms; undefined: the server default. */
  digestAlgorithms?: DigestAlgorithm[];
  /** Calls must use SRTP over SIP TLS (numbers.require_srtp). */
  requireSrtp: boolean;
}

/** Which tenant and agent a called number belongs to (the directory; crosses tenants by design). */
export async function routeNumber(db: Database, called: string): Promise<NumberRoute | undefined> {
  const row = await withoutTenant(db, async (tx) =>
    rows<{
      tenant_id: string; number_id: string; agent_id: string; allowed_cidrs: string[] | string;
      digest_username: string | null; digest_realm: string | null; digest_ha1_md5: string | null; digest_ha1_sha256: string | null;
      digest_algorithms: string[] | string | null; require_srtp: boolean | null;
    }>(await tx.execute(sql`select * from smartalex_route_number(${called})`))[0]);
  if (!row) return undefined;
  return {
    tenantId: row.tenant_id,
    numberId: row.number_id,
    agentId: row.agent_id,
    allowedCidrs: parseTextArray(row.allowed_cidrs),
    requireSrtp: row.require_srtp === true,
    ...(row.digest_username && row.digest_realm
      ? { digest: { username: row.digest_username, realm: row.digest_realm, ha1Md5: row.digest_ha1_md5, ha1Sha256: row.digest_ha1_sha256 } }
      : {}),
    ...(row.digest_algorithms != null ? { digestAlgorithms: parseDigestAlgorithms(parseTextArray(row.digest_algorithms).join(',')) } : {}),
  };
}

/** Raw SQL results give arrays as JS arrays (postgres.js, PGlite) or as '{a,b}' literals. */
function parseTextArray(value: string[] | string): string[] {
  if (Array.isArray(value)) return value;
  const inner = value.replace(/^\{|\}$/g, '');
  return inner ? inner.split(',').map((s) => s.replace(/^"|"$/g, '')) : [];
}
