/** GET /v1/me: who the credential belongs to (any authenticated principal). */
import { z } from 'zod';
import { defineRoute } from '../route.ts';

export const meSchema = z.object({
  kind: z.enum(['user', 'apikey']),
  tenantId: z.uuid(),
  role: z.enum(['owner', 'admin', 'manager', 'viewer']),
  userId: z.uuid().optional(),
  email: z.string().optional(),
  keyPrefix: z.string().optional(),
}).meta({ id: 'Me' });

export const meRoutes = [
  defineRoute({
    method: 'GET', url: '/me', tag: 'auth', summary: 'The calling principal (user or API key), its tenant and role',
    permission: 'self', allowDuringMfaEnrolment: true,
    response: meSchema,
    handler: async ({ ctx }) => {
      const p = ctx.principal;
      return p.kind === 'user'
        ? { kind: 'user' as const, tenantId: p.tenantId, role: p.role, userId: p.userId, email: p.email }
        : { kind: 'apikey' as const, tenantId: p.tenantId, role: p.role, keyPrefix: p.prefix };
    },
  }),
];
