/**
 * Browser scripts served by this server (the call page's, the embeddable
 * widget's), built by esbuild from their TypeScript sources into memory the
 * first time they are asked for (a fraction of a second; nothing written to
 * disk, no network), each kept with its gzip form and a content hash for its
 * ETag. Built once per process, like the console's bundle.
 */
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import type { FastifyReply, FastifyRequest } from 'fastify';

export interface BrowserScript { body: Buffer; gzip: Buffer; etag: string; contentType: string }

/** The scripts, by name, and their entry points under src/http. */
const ENTRIES = {
  'call.js': { entry: './call-page/call.ts', format: 'esm' },
  /** A classic script: `document.currentScript` (where the widget finds its key and its server) is null in a module. */
  'widget.js': { entry: './widget/widget.ts', format: 'iife' },
} as const;
export type BrowserScriptName = keyof typeof ENTRIES;

async function buildScript(name: BrowserScriptName): Promise<BrowserScript> {
  const { entry, format } = ENTRIES[name];
  const result = await build({
    entryPoints: [fileURLToPath(new URL(entry, import.meta.url))],
    bundle: true, write: false, minify: true, format, target: 'es2020', platform: 'browser', legalComments: 'none', logLevel: 'silent',
  });
  const js = result.outputFiles[0];
  if (!js) throw new Error(`the ${name} bundle is empty`);
  const body = Buffer.from(js.contents);
  return {
    body, gzip: gzipSync(body, { level: 9 }), contentType: 'text/javascript; charset=utf-8',
    etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`,
  };
}

const built = new Map<BrowserScriptName, Promise<BrowserScript>>();

/** The process's build of `name`, made on first use. */
export function browserScript(name: BrowserScriptName): Promise<BrowserScript> {
  let script = built.get(name);
  if (!script) {
    script = buildScript(name);
    built.set(name, script);
  }
  return script;
}

/** Sends `script` with its ETag (304 when the browser holds it) and gzipped when the browser takes it. */
export function sendBrowserScript(request: FastifyRequest, reply: FastifyReply, script: BrowserScript, cacheControl: string): FastifyReply {
  reply.header('content-type', script.contentType).header('etag', script.etag).header('cache-control', cacheControl).header('vary', 'accept-encoding');
  if (request.headers['if-none-match'] === script.etag) return reply.code(304).send();
  const gzip = /\bgzip\b/.test(String(request.headers['accept-encoding'] ?? ''));
  return gzip ? reply.header('content-encoding', 'gzip').send(script.gzip) : reply.send(script.body);
}
