/**
 * The origins a web-widget key may be used from: exact serialised origins as
 * a browser sends them in its `Origin` header (`https://host[:port]`, lower
 * case, no default port, no path), so the check at request time is string
 * equality. Plain `http:` only for a loopback host (`localhost`, 127.0.0.1,
 * [::1]), and only where the server allows it (local development).
 */
import { z } from 'zod';

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);
export const MAX_WIDGET_ORIGINS = 20;

function isLoopbackHttp(url: URL): boolean {
  return url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname);
}

/** Why `text` is not an origin a widget key may allow (or undefined when it is one). */
export function widgetOriginDefect(text: string, allowLocalhost: boolean): string | undefined {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return 'is not a URL';
  }
  if (url.protocol !== 'https:' && !isLoopbackHttp(url)) return 'must be https (http only for localhost)';
  if (url.origin !== text) return `must be an exact origin such as ${url.origin === 'null' ? 'https://shop.example' : url.origin} (scheme and host in lower case, no default port, path, query or trailing slash)`;
  if (url.protocol === 'http:' && !allowLocalhost) return 'http://localhost origins are allowed only when the server allows them (SMARTALEX_WIDGET_ALLOW_LOCALHOST)';
  return undefined;
}

/** The zod schema of an allowlist: 1-20 distinct exact origins (the localhost setting is checked by `widgetOriginDefect`). */
export const widgetOrigins = z.array(
  z.string().min(1).max(300).refine((s) => widgetOriginDefect(s, true) === undefined, { message: 'must be an exact origin such as https://shop.example or https://shop.example:8443' }),
).min(1).max(MAX_WIDGET_ORIGINS).refine((list) => new Set(list).size === list.length, { message: 'origins must be distinct' });
