/**
 * GET /widget.js: the embeddable web widget (src/http/widget/widget.ts), for
 * customers' pages on other origins. A classic script a page loads with
 * <script src>, so no CORS is needed; Cross-Origin-Resource-Policy:
 * cross-origin lets pages that require it (COEP) load it. The URL stays the
 * same across releases (pages embed it), so it is cached for an hour and then
 * revalidated against its ETag, a hash of its content: a new release reaches
 * every page within the hour and an unchanged one costs a 304.
 */
import type { FastifyInstance } from 'fastify';
import { browserScript, sendBrowserScript } from './browser-bundle.ts';

export const WIDGET_SCRIPT_PATH = '/widget.js';
export const WIDGET_SCRIPT_CACHE_CONTROL = 'public, max-age=3600';

export function registerWidgetScript(app: FastifyInstance): void {
  // Start building now, so the first page load does not wait for it.
  browserScript('widget.js').catch((error: unknown) => app.log.error({ err: { message: (error as Error).message } }, 'the widget script failed to build'));
  app.get(WIDGET_SCRIPT_PATH, async (request, reply) => {
    const script = await browserScript('widget.js');
    reply.header('cross-origin-resource-policy', 'cross-origin');
    return sendBrowserScript(request, reply, script, WIDGET_SCRIPT_CACHE_CONTROL);
  });
}
