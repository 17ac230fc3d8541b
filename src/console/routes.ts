/**
 * Serves the operators' console at /console (same origin as /v1): the page,
 * its two assets, and the live calls feed as Server-Sent Events
 * (/console/api/live-calls). The feed is authorised like any /v1 read (the
 * session cookie or a Bearer, permission calls:read, scoped to the
 * credential's tenant) and re-checks the credential on every heartbeat, so a
 * revoked or expired session stops receiving within one heartbeat.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ApiProblem, type ControlPlaneDeps } from '../api/index.ts';
import { authoriseRequest, requestFacts } from '../api/control-plane.ts';
import { consoleBundle, type ConsoleAsset } from './bundle.ts';
import type { LiveCall } from './live-call.ts';
import type { LiveCallFeed } from './live-calls.ts';
import { CONSOLE_CSP, CONSOLE_HTML } from './page.ts';

export interface ConsoleOptions {
  deps: ControlPlaneDeps;
  /** The live calls (this node's, and the other nodes' in a cluster); without it the feed answers an empty list and stays open. */
  feed?: LiveCallFeed;
  /** Between heartbeats (and credential re-checks) on the live feed. Default 15 s. */
  heartbeatMs?: number;
}

function sendAsset(request: FastifyRequest, reply: FastifyReply, asset: ConsoleAsset): FastifyReply {
  reply.header('content-type', asset.contentType).header('etag', asset.etag).header('cache-control', 'no-cache').header('vary', 'accept-encoding');
  if (request.headers['if-none-match'] === asset.etag) return reply.code(304).send();
  const gzip = /\bgzip\b/.test(String(request.headers['accept-encoding'] ?? ''));
  return gzip ? reply.header('content-encoding', 'gzip').send(asset.gzip) : reply.send(asset.body);
}

function problemReply(reply: FastifyReply, error: unknown): FastifyReply {
  if (!(error instanceof ApiProblem)) throw error;
  return reply.code(error.status).header('content-type', 'application/problem+json').send(error.toDocument());
}

export function registerConsole(app: FastifyInstance, options: ConsoleOptions): void {
  // Start building now, so the first page load does not wait for it.
  consoleBundle().catch((error: unknown) => options.deps.logger.error({ err: { message: (error as Error).message } }, 'the console bundle failed to build'));

  const page = async (_request: FastifyRequest, reply: FastifyReply) =>
    reply.header('content-type', 'text/html; charset=utf-8').header('content-security-policy', CONSOLE_CSP).header('cache-control', 'no-cache').send(CONSOLE_HTML);
  app.get('/console', page);
  app.get('/console/*', page);

  app.get<{ Params: { name: string } }>('/console/assets/:name', async (request, reply) => {
    const bundle = await consoleBundle();
    const name = request.params.name;
    if (name !== 'app.js' && name !== 'app.css') return reply.code(404).send({ error: 'not found' });
    return sendAsset(request, reply, bundle[name]);
  });

  // Open feeds end when the server closes (a held-open response would keep it from closing), and one whose
  // credential check ends after that is refused.
  const open = new Set<() => void>();
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
    for (const end of [...open]) end();
  });

  app.get('/console/api/live-calls', async (request, reply) => {
    const out = reply.raw;
    // Watched before the first await: a browser that leaves while the credential is checked (an EventSource
    // closed by a page change) closes the response then, and a 'close' listener added later would never hear it,
    // leaving a heartbeat and a feed subscription running for good (and the process unable to exit).
    let left = out.destroyed;
    out.once('close', () => { left = true; });
    const facts = requestFacts(options.deps, request);
    let tenantId: string;
    try {
      tenantId = (await authoriseRequest(facts, request, 'calls:read')).tenantId;
    } catch (error) {
      return problemReply(reply, error);
    }
    if (left || out.destroyed) {
      options.deps.logger.debug('live feed: the client left while its credential was checked');
      reply.hijack();
      return;
    }
    if (closing) return reply.code(503).header('retry-after', '1').header('connection', 'close').send({ error: 'the server is shutting down' });
    reply.hijack();
    out.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', 'x-accel-buffering': 'no', connection: 'keep-alive' });
    const send = (event: string, data: unknown): void => { out.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`); };
    send('snapshot', options.feed?.snapshot(tenantId) ?? []);
    const unsubscribe = options.feed?.subscribe(tenantId, (call: LiveCall) => send('call', call)) ?? (() => undefined);
    let checking = false;
    const heartbeat = setInterval(() => {
      if (checking) return;
      checking = true;
      authoriseRequest(requestFacts(options.deps, request), request, 'calls:read').then(
        () => { out.write(': heartbeat\n\n'); },
        () => { send('end', { reason: 'session-ended' }); out.end(); },
      ).finally(() => { checking = false; });
    }, options.heartbeatMs ?? 15_000);
    const end = (): void => { out.end(); };
    open.add(end);
    out.on('close', () => { clearInterval(heartbeat); unsubscribe(); open.delete(end); });
  });
}
