/**
 * Every /v1 route of the product. A route module exports an array of
 * defineRoute(...) results; add it here (one line) and it is mounted,
 * documented in /v1/openapi.json and walked by the permission-matrix test.
 */
import type { ApiRoute } from '../route.ts';
import { apiKeyRoutes } from './api-keys.ts';
import { authRoutes } from './auth.ts';
import { campaignRoutes } from './campaigns.ts';
import { gdprRoutes } from './gdpr.ts';
import { meRoutes } from './me.ts';
import { opsRoutes } from './ops.ts';
import { recordingLinkRoutes } from './recording-links.ts';
import { RESOURCE_ROUTES } from './resources.ts';
import { sessionRoutes } from './sessions.ts';
import { tenantSecurityRoutes } from './tenant-security.ts';
import { totpRoutes } from './totp.ts';
import { userRoutes } from './users.ts';
import { webhookRoutes } from './webhooks.ts';

export const ALL_ROUTES: readonly ApiRoute[] = [
  ...authRoutes,
  ...meRoutes,
  ...RESOURCE_ROUTES,
  ...campaignRoutes,
  ...recordingLinkRoutes,
  ...sessionRoutes,
  ...totpRoutes,
  ...userRoutes,
  ...apiKeyRoutes,
  ...tenantSecurityRoutes,
  ...webhookRoutes,
  ...gdprRoutes,
  ...opsRoutes,
];
