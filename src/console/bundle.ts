/**
 * The console's browser code, built by esbuild from src/console/app at server
 * start, into memory (a fraction of a second; nothing is written to disk, no
 * network): one minified ES module and one stylesheet, each kept with its
 * gzip form and a content hash for ETag. Built once per process.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';

export interface ConsoleAsset { body: Buffer; gzip: Buffer; etag: string; contentType: string }
export interface ConsoleBundle { 'app.js': ConsoleAsset; 'app.css': ConsoleAsset }

const APP_DIR = fileURLToPath(new URL('./app/', import.meta.url));

function asset(body: Buffer, contentType: string): ConsoleAsset {
  return { body, gzip: gzipSync(body, { level: 9 }), etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`, contentType };
}

export async function buildConsoleBundle(): Promise<ConsoleBundle> {
  const result = await build({
    entryPoints: [`${APP_DIR}main.tsx`],
    bundle: true, write: false, minify: true, format: 'esm', target: 'es2022', platform: 'browser',
    jsx: 'automatic', jsxImportSource: 'preact', legalComments: 'none', logLevel: 'silent',
    define: { 'process.env.NODE_ENV': '"production"' },
  });
  const js = result.outputFiles[0];
  if (!js) throw new Error('the console bundle is empty');
  const css = await readFile(`${APP_DIR}console.css`);
  return { 'app.js': asset(Buffer.from(js.contents), 'text/javascript; charset=utf-8'), 'app.css': asset(css, 'text/css; charset=utf-8') };
}

let built: Promise<ConsoleBundle> | undefined;

/** The process's bundle, built on first use. */
export function consoleBundle(): Promise<ConsoleBundle> {
  built ??= buildConsoleBundle();
  return built;
}
