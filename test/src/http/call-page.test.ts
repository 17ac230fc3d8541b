/**
 * The browser call page: served same-origin with a strict CSP (no inline
 * script or style, nothing from another origin, no framing), its script and
 * style as separate files, and no external URL anywhere in them.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { randomUUID } from 'node:crypto';
import { Registry } from 'prom-client';
import { createHttpServer } from '../../../src/http/server.ts';
import { registerCallPage } from '../../../src/http/call-page.ts';
import { createLogger } from '../../../src/log.ts';

async function app() {
  const http = createHttpServer({ logger: createLogger('silent'), metrics: new Registry(), readiness: {} });
  registerCallPage(http);
  await http.ready();
  return http;
}

test('/call/<agentId> is the page, under a CSP that allows only this origin and no inline code', async () => {
  const http = await app();
  try {
    const res = await http.inject({ method: 'GET', url: `/call/${randomUUID()}` });
    assert.is(res.statusCode, 200);
    assert.match(String(res.headers['content-type']), /^text\/html/);
    const csp = String(res.headers['content-security-policy']);
    const directives = Object.fromEntries(csp.split(';').map((d) => d.trim().split(/\s+/)).map(([name, ...values]) => [name, values.join(' ')]));
    assert.is(directives['default-src'], "'none'");
    assert.is(directives['script-src'], "'self'");
    assert.is(directives['style-src'], "'self'");
    assert.is(directives['connect-src'], "'self'");
    assert.is(directives['frame-ancestors'], "'none'");
    assert.not.match(csp, /unsafe|\*|https?:/, 'no unsafe-inline, wildcard or other origin');
    assert.match(String(res.headers['permissions-policy']), /microphone=\(self\)/);
    assert.is(res.headers['cache-control'], 'no-store');

    const html = res.body;
    const scripts = [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)];
    assert.ok(scripts.length > 0);
    for (const [, attrs, body] of scripts) {
      assert.match(attrs!, /src="\/call-assets\/[a-z]+\.js"/, 'a script is a same-origin file');
      assert.is(body!.trim(), '', 'no inline script');
    }
    assert.not.match(html, /\son[a-z]+=/i, 'no inline event handler');
    assert.not.match(html, /<style|\sstyle=/i, 'no inline style');
    for (const id of ['call', 'mute', 'hangup', 'captions', 'remote', 'level']) assert.match(html, new RegExp(`id="${id}"`), id);
  } finally {
    await http.close();
  }
});

test('the script and style are served from this origin; nothing in them reaches another origin', async () => {
  const http = await app();
  try {
    for (const [name, type] of [['call.js', /^text\/javascript/], ['call.css', /^text\/css/]] as const) {
      const res = await http.inject({ method: 'GET', url: `/call-assets/${name}` });
      assert.is(res.statusCode, 200, name);
      assert.match(String(res.headers['content-type']), type);
      assert.ok(res.headers['content-security-policy'], `${name} carries the CSP too`);
      assert.not.match(res.body, /https?:\/\/|\/\/[a-z0-9.-]+\.[a-z]{2,}\//i, `${name} names no external URL`);
    }
    const js = (await http.inject({ method: 'GET', url: '/call-assets/call.js' })).body;
    assert.match(js, /\/v1\/webrtc/, 'the script signals over this origin\'s /v1/webrtc');
    assert.not.match(js, /innerHTML|eval\(|new Function/, 'captions are text, never markup');
  } finally {
    await http.close();
  }
});

test('a path that is not an agent id or a known asset is a 404', async () => {
  const http = await app();
  try {
    for (const url of ['/call/not-an-id', '/call/..%2F..%2Fetc%2Fpasswd', '/call-assets/secret.ts', '/call-assets/..%2Fcall-page.ts']) {
      assert.is((await http.inject({ method: 'GET', url })).statusCode, 404, url);
    }
  } finally {
    await http.close();
  }
});

test.run();
