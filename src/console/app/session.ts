/** Who is logged in, and what their role may do (the API's one permission matrix, so the console offers exactly what the API allows). */
import { allows, canGrant, ROLES, type RoutePermission } from '../../api/permissions.ts';

export type Role = 'owner' | 'admin' | 'manager' | 'viewer';

export interface Me { kind: 'user' | 'apikey'; tenantId: string; role: Role; userId?: string; email?: string }

export const can = (me: Me, permission: RoutePermission): boolean => allows(me.role, permission);

/** Roles this principal may hand out (never above its own), as the API checks. */
export const grantable = (me: Me): Role[] => ROLES.filter((r) => canGrant(me.role, r));
