/**
 * API keys: create (the key is in the response once, never again), list
 * (prefix, role, created, last used), rotate (a new key with the same name and
 * role; the old one keeps working for the stated grace period), revoke.
 * Stored as SHA-256; a key is scoped to a role no higher than its creator's.
 */
import { z } from 'zod';
import { auditInTx, getApiKey, issueApiKeyInTx, listApiKeys, revokeApiKey, rotateApiKey, type ApiKeyRow } from '../../../storage/index.ts';
import { canGrant } from '../permissions.ts';
import { conflict, forbidden, notFound } from '../problem.ts';
import { defineRoute } from '../route.ts';
import { iso, isoOrNull, roleSchema, timestamp } from './common.ts';

const apiKey = z.object({
  id: z.uuid(), name: z.string(), prefix: z.string(), role: roleSchema, createdAt: timestamp,
  lastUsedAt: timestamp.nullable(), expiresAt: timestamp.nullable().describe('Set on a rotated key: it stops working then'),
}).meta({ id: 'ApiKey' });
const view = (k: ApiKeyRow) => ({ id: k.id, name: k.name, prefix: k.prefix, role: k.role, createdAt: iso(k.createdAt), lastUsedAt: isoOrNull(k.lastUsedAt), expiresAt: isoOrNull(k.expiresAt) });
const issuedKey = z.object({ id: z.uuid(), prefix: z.string(), key: z.string().describe('Shown once; store it now') });
const keyParams = z.strictObject({ keyId: z.uuid() });
const MAX_GRACE_S = 30 * 24 * 3600;

export const apiKeyRoutes = [
  defineRoute({
    method: 'GET', url: '/api-keys', tag: 'api-keys', summary: 'List API keys (never the keys themselves)', permission: 'apikeys:read',
    response: z.object({ items: z.array(apiKey) }),
    handler: async ({ ctx }) => ({ items: (await ctx.tenant((tx) => listApiKeys(tx))).map(view) }),
  }),
  defineRoute({
    method: 'POST', url: '/api-keys', tag: 'api-keys', summary: 'Create an API key (shown once)', permission: 'apikeys:manage', status: 201,
    body: z.strictObject({ name: z.string().trim().min(1).max(100), role: roleSchema }),
    response: issuedKey,
    handler: async ({ ctx, body }) => {
      if (!canGrant(ctx.role, body.role)) throw forbidden('You cannot create a key with a role above your own.');
      return ctx.tenant(async (tx) => {
        const issued = await issueApiKeyInTx(tx, ctx.tenantId, { name: body.name, role: body.role });
        await auditInTx(tx, ctx.tenantId, { actor: ctx.actor, action: 'apikey.create', target: `apikey:${issued.prefix}`, detail: { role: body.role }, sourceIp: ctx.sourceIp });
        return { id: issued.id, prefix: issued.prefix, key: issued.key };
      });
    },
  }),
  defineRoute({
    method: 'POST', url: '/api-keys/:keyId/rotate', tag: 'api-keys', summary: 'Rotate: a new key (shown once); the old one works for the grace period',
    permission: 'apikeys:manage', status: 201,
    params: keyParams,
    body: z.strictObject({ graceSeconds: z.number().int().min(0).max(MAX_GRACE_S).optional().describe('How long the old key keeps working (default: SMARTALEX_API_KEY_ROTATION_GRACE_HOURS)') }),
    response: issuedKey.extend({ oldKeyExpiresAt: timestamp }),
    handler: async ({ ctx, params, body }) => {
      const graceMs = body.graceSeconds !== undefined ? body.graceSeconds * 1000 : ctx.deps.settings.apiKeyRotationGraceMs;
      const oldExpiresAt = new Date(ctx.now().getTime() + graceMs);
      return ctx.tenant(async (tx) => {
        const existing = await getApiKey(tx, params.keyId);
        if (!existing || existing.revokedAt) throw notFound();
        if (!canGrant(ctx.role, existing.role)) throw forbidden('You cannot rotate a key with a role above your own.');
        const rotated = await rotateApiKey(tx, ctx.tenantId, params.keyId, oldExpiresAt);
        if (!rotated) throw conflict('This key was rotated already; rotate its successor.');
        await auditInTx(tx, ctx.tenantId, {
          actor: ctx.actor, action: 'apikey.rotate', target: `apikey:${existing.prefix}`, sourceIp: ctx.sourceIp,
          detail: { successor: rotated.issued.prefix, oldKeyExpiresAt: oldExpiresAt.toISOString() },
        });
        return { id: rotated.issued.id, prefix: rotated.issued.prefix, key: rotated.issued.key, oldKeyExpiresAt: iso(oldExpiresAt) };
      });
    },
  }),
  defineRoute({
    method: 'DELETE', url: '/api-keys/:keyId', tag: 'api-keys', summary: 'Revoke an API key (at once)', permission: 'apikeys:manage', status: 204,
    params: keyParams, response: z.null(),
    handler: async ({ ctx, params }) => {
      await ctx.tenant(async (tx) => {
        const existing = await getApiKey(tx, params.keyId);
        if (!existing || existing.revokedAt) throw notFound();
        if (!canGrant(ctx.role, existing.role)) throw forbidden('You cannot revoke a key with a role above your own.');
        await revokeApiKey(tx, params.keyId, ctx.now());
        await auditInTx(tx, ctx.tenantId, { actor: ctx.actor, action: 'apikey.revoke', target: `apikey:${existing.prefix}`, sourceIp: ctx.sourceIp });
      });
      return null;
    },
  }),
];
