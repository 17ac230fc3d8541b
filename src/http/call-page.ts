/**
 * The browser call page: GET /call/<agentId> (HTML), with its script (built
 * from TypeScript by src/http/browser-bundle.ts) and style as separate
 * same-origin files under /call-assets/. A strict Content
 * Security Policy: scripts, styles and connections from this origin only, no
 * inline script or style, no framing; the microphone is allowed for this
 * origin alone. The page holds no secret: the call token is in the link's
 * fragment (src/http/call-page/call.ts reads it), so the server never sees
 * it in a request line or a log.
 */
import { readFileSync } from 'node:fs';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { browserScript, sendBrowserScript } from './browser-bundle.ts';

const asset = (name: string): Buffer => readFileSync(new URL(`./call-page/${name}`, import.meta.url));

/** The page's CSP ('self' covers ws:/wss: to this host in CSP Level 3). */
export const CALL_PAGE_CSP = [
  "default-src 'none'", "script-src 'self'", "style-src 'self'", "connect-src 'self'", "media-src 'self' blob:",
  "img-src 'self'", "base-uri 'none'", "form-action 'none'", "frame-ancestors 'none'",
].join('; ');

const STYLE = asset('call.css');
const PAGE = asset('call.html');
const AGENT_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function secured(reply: FastifyReply): FastifyReply {
  return reply
    .header('content-security-policy', CALL_PAGE_CSP)
    .header('permissions-policy', 'microphone=(self), camera=(), geolocation=()')
    .header('referrer-policy', 'no-referrer')
    .header('cache-control', 'no-store');
}

export function registerCallPage(app: FastifyInstance): void {
  // Start building now, so the first page load does not wait for it.
  browserScript('call.js').catch((error: unknown) => app.log.error({ err: { message: (error as Error).message } }, 'the call page script failed to build'));
  app.get<{ Params: { agentId: string } }>('/call/:agentId', async (request, reply) => {
    if (!AGENT_ID.test(request.params.agentId)) return reply.code(404).send({ error: 'not found' });
    return secured(reply).type('text/html; charset=utf-8').send(PAGE);
  });
  app.get<{ Params: { name: string } }>('/call-assets/:name', async (request, reply) => {
    if (request.params.name === 'call.css') return secured(reply).type('text/css; charset=utf-8').send(STYLE);
    if (request.params.name !== 'call.js') return reply.code(404).send({ error: 'not found' });
    return sendBrowserScript(request, secured(reply), await browserScript('call.js'), 'no-cache');
  });
}
