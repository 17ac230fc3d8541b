/**
 * Every /v1 route of the product. A route module exports an array of
 * defineRoute(...) results; add it here (one line) and it is mounted,
 * documented in /v1/openapi.json and walked by the permission-matrix test.
 */
import type { ApiRoute } from '../route.ts';
import { meRoutes } from './me.ts';
import { RESOURCE_ROUTES } from './resources.ts';

export const ALL_ROUTES: readonly ApiRoute[] = [
  ...meRoutes,
  ...RESOURCE_ROUTES,
];
