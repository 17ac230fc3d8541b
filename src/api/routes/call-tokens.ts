/**
 * POST /v1/agents/:agentId/call-tokens: a short-lived token a browser uses to
 * call the agent over WebRTC (src/webrtc/call-token.ts), with the same-origin
 * page link that uses it. Minting is a manager's right (agents:write) and is
 * audited (the token itself is never stored or logged: it is a bearer
 * credential for one call).
 */
import { z } from 'zod';
import { getAgent } from '../../resources/agents.ts';
import { CALL_TOKEN_MAX_TTL_MS, CALL_TOKEN_TTL_MS, mintCallToken } from '../../webrtc/call-token.ts';
import { ApiProblem } from '../problem.ts';
import { defineRoute } from '../route.ts';
import { idParam, served } from './resource-support.ts';

const body = z.strictObject({
  ttlSeconds: z.number().int().min(10).max(CALL_TOKEN_MAX_TTL_MS / 1000).optional()
    .describe(`How long the token may start a call; default ${CALL_TOKEN_TTL_MS / 1000}`),
}).optional();

const response = z.object({
  token: z.string().describe('Give it to the browser; it starts one call'),
  expiresAt: z.string(),
  agentId: z.uuid(),
  callPath: z.string().describe('The server\'s own call page with the token in its fragment (never sent to a server)'),
}).meta({ id: 'CallToken' });

export const callTokenRoutes = [
  defineRoute({
    method: 'POST', url: '/agents/:agentId/call-tokens', tag: 'agents', summary: 'Mint a short-lived WebRTC call token for a browser', permission: 'agents:write', status: 201,
    params: idParam('agentId'), body, response,
    handler: async ({ ctx, params, body: input }) => {
      const agent = await served(() => getAgent(ctx.db, ctx.tenantId, params.agentId));
      const secret = ctx.deps.services.callTokenSecret;
      if (!secret) throw new ApiProblem(503, 'unavailable', 'Service unavailable', { detail: 'WebRTC calls are not configured on this server.' });
      const ttlMs = (input?.ttlSeconds ?? CALL_TOKEN_TTL_MS / 1000) * 1000;
      const { token, expiresAtMs } = mintCallToken(secret, { tenantId: ctx.tenantId, agentId: agent.id }, ctx.now().getTime(), ttlMs);
      await ctx.audit({ action: 'call-token.minted', target: agent.id, detail: { ttlSeconds: ttlMs / 1000 } });
      return { token, expiresAt: new Date(expiresAtMs).toISOString(), agentId: agent.id, callPath: `/call/${agent.id}#token=${token}` };
    },
  }),
];
