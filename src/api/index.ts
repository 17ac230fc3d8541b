/** The control-plane API's public face (contract: src/api/README.md). */
export { registerControlPlane, RouteRegistrationError, API_PREFIX, API_BODY_LIMIT } from './control-plane.ts';
export { defineRoute, type ApiRoute } from './route.ts';
export type { ApiContext, Principal, RequestFacts } from './context.ts';
export { DEFAULT_SETTINGS, controlPlaneSettings, type ControlPlaneDeps, type ControlPlaneSettings, type ControlPlaneServices } from './deps.ts';
export { systemClock, manualClock, type Clock } from './clock.ts';
export { ALL_ROUTES } from './routes/index.ts';
export * from './problem.ts';
export * from './pagination.ts';
export { afterCursor, keysetOrder } from '../../storage/index.ts';
export { MATRIX, PERMISSIONS, ROLES, allows, type Permission, type RoutePermission } from './permissions.ts';
