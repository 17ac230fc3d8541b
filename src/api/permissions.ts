/**
 * The one permission matrix (seeds: Owner has everything incl. billing and
 * user management; Admin everything except billing; Manager agents,
 * campaigns and contacts; Viewer read-only analytics, calls and campaign progress).
 * Owners and admins also read the platform's ops figures (ops:read: the
 * bench reports, which describe the server, not a tenant). Every /v1
 * route declares one Permission (or 'public' / 'self', see RoutePermission);
 * test/src/api/permission-matrix.test.ts walks every route x role against
 * this table.
 */
import type { Role } from '../../storage/index.ts';

export const ROLES = ['owner', 'admin', 'manager', 'viewer'] as const satisfies readonly Role[];

export const PERMISSIONS = [
  'tenant:read', 'tenant:write', 'billing:manage',
  'users:read', 'users:manage',
  'apikeys:read', 'apikeys:manage',
  'audit:read', 'data:export', 'data:erase', 'account:delete',
  'webhooks:read', 'webhooks:manage',
  'agents:read', 'agents:write',
  'campaigns:read', 'campaigns:write',
  'contacts:read', 'contacts:write',
  'dnc:read', 'dnc:write',
  'consents:read', 'consents:write',
  'numbers:read', 'numbers:write',
  'calls:read', 'calls:delete',
  'recordings:read', 'recordings:delete',
  'analytics:read',
  'ops:read',
] as const;

export type Permission = (typeof PERMISSIONS)[number];

/**
 * What a route may declare besides a Permission:
 * - 'public': no credential (login, invitation acceptance, the OpenAPI document);
 * - 'self': any authenticated principal acting on itself (its own sessions, 2FA, logout).
 */
export type RoutePermission = Permission | 'public' | 'self';

const MANAGER: readonly Permission[] = [
  'tenant:read', 'agents:read', 'agents:write', 'campaigns:read', 'campaigns:write', 'contacts:read', 'contacts:write',
  'dnc:read', 'dnc:write', 'consents:read', 'consents:write', 'numbers:read', 'calls:read', 'recordings:read', 'analytics:read',
];
const VIEWER: readonly Permission[] = ['tenant:read', 'calls:read', 'analytics:read', 'campaigns:read'];

/** The owner's alone: billing, and erasing the whole account. */
export const OWNER_ONLY: readonly Permission[] = ['billing:manage', 'account:delete'];

export const MATRIX: Readonly<Record<Role, ReadonlySet<Permission>>> = {
  owner: new Set(PERMISSIONS),
  admin: new Set(PERMISSIONS.filter((p) => !OWNER_ONLY.includes(p))),
  manager: new Set(MANAGER),
  viewer: new Set(VIEWER),
};

export function isRoutePermission(value: unknown): value is RoutePermission {
  return value === 'public' || value === 'self' || (PERMISSIONS as readonly unknown[]).includes(value);
}

/** True when `role` may use a route declaring `permission` ('public' and 'self' allow every role). */
export function allows(role: Role, permission: RoutePermission): boolean {
  if (permission === 'public' || permission === 'self') return true;
  return MATRIX[role].has(permission);
}

/** Roles a principal of `role` may hand out (to a user or an API key): never above its own. */
export function canGrant(role: Role, granted: Role): boolean {
  return ROLES.indexOf(granted) >= ROLES.indexOf(role);
}
