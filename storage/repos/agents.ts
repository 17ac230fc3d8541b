/** Agents and the numbers that route calls to them. */
import { and, asc, eq, or } from 'drizzle-orm';
import { sql } from 'drizzle-orm';
import { parseCidr } from '../../media/sip/cidr.ts';
import { parseDigestAlgorithms, type DigestAlgorithm } from '../../media/sip/digest.ts';
import type { Database } from '../database.ts';
import { rows } from '../migrate.ts';
import { agents, numbers } from '../schema.ts';
import { withoutTenant, withTenant } from '../tenant-scope.ts';

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
