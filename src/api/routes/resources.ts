/** The tenant-resource routes (issue 12): tenant, agents (and their WebRTC call tokens), numbers, contacts, calls, recordings, DNC and consents, audit log. */
import type { ApiRoute } from '../route.ts';
import { agentRoutes } from './agents.ts';
import { auditRoutes } from './audit.ts';
import { callRoutes } from './calls.ts';
import { callTokenRoutes } from './call-tokens.ts';
import { complianceRoutes } from './compliance.ts';
import { contactRoutes } from './contacts.ts';
import { numberRoutes } from './numbers.ts';
import { recordingRoutes } from './recordings.ts';
import { tenantRoutes } from './tenant.ts';
import { widgetKeyRoutes } from './widget-keys.ts';

export const RESOURCE_ROUTES: readonly ApiRoute[] = [
  ...tenantRoutes, ...agentRoutes, ...callTokenRoutes, ...widgetKeyRoutes, ...numberRoutes, ...contactRoutes, ...callRoutes, ...recordingRoutes, ...complianceRoutes, ...auditRoutes,
];
