/** The tenant's security settings: whether owners and admins must use 2FA. */
import { z } from 'zod';
import { auditInTx, setTenantRequires2fa, tenantRequires2fa } from '../../../storage/index.ts';
import { defineRoute } from '../route.ts';

const security = z.object({ require2faForAdmins: z.boolean().describe('Owners and admins must enrol TOTP before using the API') }).meta({ id: 'TenantSecurity' });

export const tenantSecurityRoutes = [
  defineRoute({
    method: 'GET', url: '/tenant/security', tag: 'tenant', summary: 'Security settings', permission: 'tenant:read',
    response: security,
    handler: async ({ ctx }) => ({ require2faForAdmins: await ctx.tenant((tx) => tenantRequires2fa(tx, ctx.tenantId)) }),
  }),
  defineRoute({
    method: 'PUT', url: '/tenant/security', tag: 'tenant', summary: 'Change security settings', permission: 'tenant:write',
    body: z.strictObject({ require2faForAdmins: z.boolean() }),
    response: security,
    handler: async ({ ctx, body }) => ctx.tenant(async (tx) => {
      const before = await tenantRequires2fa(tx, ctx.tenantId);
      await setTenantRequires2fa(tx, ctx.tenantId, body.require2faForAdmins);
      if (before !== body.require2faForAdmins) {
        await auditInTx(tx, ctx.tenantId, { actor: ctx.actor, action: 'tenant.security.change', target: `tenant:${ctx.tenantId}`, detail: { require2faForAdmins: body.require2faForAdmins }, sourceIp: ctx.sourceIp });
      }
      return { require2faForAdmins: body.require2faForAdmins };
    }),
  }),
];
