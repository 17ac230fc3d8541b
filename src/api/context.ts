/**
 * What a /v1 handler is given: who is calling (the principal, from the
 * credential only), the tenant that credential belongs to, and helpers that
 * keep every database access inside withTenant and every audit entry stamped
 * with actor and source address.
 */
import type { Database, Role, Tx } from '../../storage/index.ts';
import { auditInTx, withTenant } from '../../storage/index.ts';
import type { Clock } from './clock.ts';
import type { ControlPlaneDeps } from './deps.ts';

export type Principal =
  | { kind: 'user'; tenantId: string; userId: string; role: Role; sessionId: string; email: string; mfaPending: boolean }
  | { kind: 'apikey'; tenantId: string; keyId: string; prefix: string; role: Role };

export interface AuditInput { action: string; target?: string; detail?: Record<string, unknown> }

/** Request facts that need no credential (public routes get only these). */
export interface RequestFacts {
  db: Database;
  deps: ControlPlaneDeps;
  now: Clock;
  /** The peer address (trustProxy is off: never a header the client controls). */
  sourceIp: string;
  userAgent: string;
}

export interface ApiContext extends RequestFacts {
  principal: Principal;
  tenantId: string;
  role: Role;
  /** "user:<id>" or "apikey:<prefix>", as the audit log writes it. */
  actor: string;
  /** Runs `work` in one transaction scoped to the caller's tenant (RLS). */
  tenant<T>(work: (tx: Tx) => Promise<T>): Promise<T>;
  /** Appends an audit entry (actor, source address filled in); pass `tx` to commit it with the work. */
  audit(entry: AuditInput, tx?: Tx): Promise<void>;
}

export function actorOf(principal: Principal): string {
  return principal.kind === 'user' ? `user:${principal.userId}` : `apikey:${principal.prefix}`;
}

export function buildContext(facts: RequestFacts, principal: Principal): ApiContext {
  const tenantId = principal.tenantId;
  const actor = actorOf(principal);
  return {
    ...facts,
    principal,
    tenantId,
    role: principal.role,
    actor,
    tenant: (work) => withTenant(facts.db, tenantId, work),
    audit: async (entry, tx) => {
      const row = { actor, action: entry.action, sourceIp: facts.sourceIp, ...(entry.target !== undefined ? { target: entry.target } : {}), ...(entry.detail ? { detail: entry.detail } : {}) };
      if (tx) await auditInTx(tx, tenantId, row);
      else await withTenant(facts.db, tenantId, (t) => auditInTx(t, tenantId, row));
    },
  };
}
