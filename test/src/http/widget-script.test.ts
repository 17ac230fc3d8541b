/**
 * GET /widget.js: the embeddable widget, built from TypeScript by esbuild, served
 * as JavaScript that other origins may load (Cross-Origin-Resource-Policy:
 * cross-origin), cached for an hour and revalidated by an ETag that is a hash
 * of its content (304 when unchanged), gzipped when asked; a classic script
 * (document.currentScript is null in a module) that holds no external URL and
 * builds its DOM without markup strings.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { Registry } from 'prom-client';
import { createHttpServer } from '../../../src/http/server.ts';
import { registerWidgetScript } from '../../../src/http/widget-script.ts';
import { createLogger } from '../../../src/log.ts';

async function app() {
  const http = createHttpServer({ logger: createLogger('silent'), metrics: new Registry(), readiness: {} });
  registerWidgetScript(http);
  await http.ready();
  return http;
}

test('/widget.js is JavaScript other origins may load, cached and revalidated by a content-hash ETag', async () => {
  const http = await app();
  try {
    const res = await http.inject({ method: 'GET', url: '/widget.js' });
    assert.is(res.statusCode, 200);
    assert.match(String(res.headers['content-type']), /^text\/javascript; charset=utf-8$/);
    assert.is(res.headers['cross-origin-resource-policy'], 'cross-origin', 'COEP pages may load it (helmet\'s same-origin is overridden)');
    assert.is(res.headers['x-content-type-options'], 'nosniff');
    assert.match(String(res.headers['cache-control']), /^public, max-age=3600$/);
    const etag = String(res.headers.etag);
    assert.is(etag, `"${createHash('sha256').update(res.rawPayload).digest('base64url').slice(0, 22)}"`, 'the ETag is the content hash');
    assert.is(res.headers['access-control-allow-origin'], undefined, 'a <script src> needs no CORS');

    const again = await http.inject({ method: 'GET', url: '/widget.js', headers: { 'if-none-match': etag } });
    assert.is(again.statusCode, 304);
    assert.is(again.rawPayload.length, 0);
    assert.is(again.headers.etag, etag);
    const stale = await http.inject({ method: 'GET', url: '/widget.js', headers: { 'if-none-match': '"something-else"' } });
    assert.is(stale.statusCode, 200);

    const gzipped = await http.inject({ method: 'GET', url: '/widget.js', headers: { 'accept-encoding': 'gzip, br' } });
    assert.is(gzipped.headers['content-encoding'], 'gzip');
    assert.match(String(gzipped.headers.vary), /accept-encoding/i);
    assert.ok(gunzipSync(gzipped.rawPayload).equals(res.rawPayload), 'the same script, gzipped');
    assert.ok(gzipped.rawPayload.length < res.rawPayload.length);
  } finally {
    await http.close();
  }
});

test('the script is a classic script that finds its key and server, holds no external URL, and builds no markup from strings', async () => {
  const http = await app();
  try {
    const js = (await http.inject({ method: 'GET', url: '/widget.js' })).body;
    assert.not.match(js, /^\s*(import|export)\b|\bimport\s*\(|\bexport\s*\{/m, 'not a module');
    assert.match(js, /currentScript/);
    assert.match(js, /smartalexKey/, 'reads data-smartalex-key');
    assert.match(js, /v1\/widget-keys\//, 'mints from the widget-key route');
    assert.match(js, /attachShadow/);
    assert.match(js, /adoptedStyleSheets/, 'a constructed stylesheet, which a strict host CSP allows');
    assert.match(js, /SmartAlexWidget/);
    assert.not.match(js, /https?:\/\/|\/\/[a-z0-9.-]+\.[a-z]{2,}\//i, 'no external URL: the server is where the script came from');
    assert.not.match(js, /innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(|new Function/, 'text is text');
    assert.not.match(js, /setAttribute\(\s*["']style["']/, 'no style attribute');
  } finally {
    await http.close();
  }
});

test.run();
