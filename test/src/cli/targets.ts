/**
 * What the CLI tests run against: the real `smartalex` command in a child
 * process, pointed at an empty embedded data directory (PGlite) or at a fresh,
 * empty database on the Postgres server, plus a way to open that same
 * database from the test (after the child has exited: PGlite is one process
 * at a time) to check what was stored.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as assert from 'uvu/assert';
import { sql } from 'drizzle-orm';
import postgres from 'postgres';
import { openDatabase, rows, type Database } from '../../../storage/index.ts';
import { postgresUnderTest } from '../../support/databases.ts';

export const root = fileURLToPath(new URL('../../..', import.meta.url));

export interface Target {
  name: 'pglite' | 'postgres';
  /** Environment for the CLI: data directory (always) and DATABASE_URL (server). */
  env: Record<string, string>;
  dataDir: string;
  /** Opens the target's database without migrating; close it before the next CLI run on PGlite. */
  open(): Promise<Database>;
  cleanup(): Promise<void>;
}

export interface TargetKind { name: Target['name']; create(): Promise<Target> }

export async function targetKinds(): Promise<TargetKind[]> {
  const kinds: TargetKind[] = [{ name: 'pglite', create: async () => pgliteTarget() }];
  const url = await postgresUnderTest();
  if (url) kinds.push({ name: 'postgres', create: () => postgresTarget(url) });
  return kinds;
}

function pgliteTarget(): Target {
  const dataDir = mkdtempSync(join(tmpdir(), 'smartalex-cli-'));
  return {
    name: 'pglite',
    env: { SMARTALEX_DATA_DIR: dataDir },
    dataDir,
    open: () => openDatabase({ dataDir, appRole: 'smartalex_app' }),
    cleanup: async () => rmSync(dataDir, { recursive: true, force: true }),
  };
}

async function postgresTarget(adminUrl: string): Promise<Target> {
  const dataDir = mkdtempSync(join(tmpdir(), 'smartalex-cli-'));
  const name = `smartalex_cli_${randomBytes(6).toString('hex')}`;
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database ${name}`);
  await admin.end();
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  const opened: Database[] = [];
  return {
    name: 'postgres',
    env: { SMARTALEX_DATA_DIR: dataDir, DATABASE_URL: url.toString() },
    dataDir,
    open: async () => {
      const db = await openDatabase({ url: url.toString(), dataDir, appRole: 'smartalex_app' });
      opened.push(db);
      return db;
    },
    cleanup: async () => {
      for (const db of opened.splice(0)) await db.close();
      const drop = postgres(adminUrl, { max: 1, onnotice: () => {} });
      await drop.unsafe(`drop database if exists ${name} with (force)`);
      await drop.end();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export interface CliResult { code: number | null; stdout: string; stderr: string }

/** Runs `smartalex <args>` to completion with a clean environment plus `env`. */
export function runCli(args: string[], env: Record<string, string>, stdin?: string): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], {
      cwd: root,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', SMARTALEX_DEMO: 'false', ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 90_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(stdin ?? '');
  });
}

/** Every row of every table, as text, read as the owner: where a leaked secret would show. */
export async function everything(db: Database): Promise<string> {
  const tables = rows<{ name: string }>(await db.owner.execute(sql`
    select quote_ident(table_schema) || '.' || quote_ident(table_name) as name from information_schema.tables
    where table_schema in ('public', 'drizzle') and table_type = 'BASE TABLE'`));
  if (tables.length < 10) throw new Error('expected the schema to be there');
  let text = '';
  for (const t of tables) {
    for (const r of rows<{ row: unknown }>(await db.owner.execute(sql`select row_to_json(t)::text as row from ${sql.raw(t.name)} t`))) text += `${String(r.row)}\n`;
  }
  return text;
}

/** A successful command: exit 0, nothing on stderr; returns stdout. */
export function ok(result: CliResult, what: string): string {
  assert.is(result.code, 0, `${what} failed (${result.code}): ${result.stderr}`);
  assert.is(result.stderr, '', `${what} wrote to stderr`);
  return result.stdout;
}

/** A refused command: exit 1 and exactly one clear line on stderr. */
export function refusedWith(result: CliResult, line: RegExp): void {
  assert.is(result.code, 1, `expected exit 1, got ${result.code}: ${result.stdout}${result.stderr}`);
  const lines = result.stderr.split('\n').filter(Boolean);
  assert.is(lines.length, 1, `expected one line, got: ${result.stderr}`);
  assert.match(lines[0]!, line);
}

export async function withOpen<T>(target: Target, work: (db: Database) => Promise<T>): Promise<T> {
  const db = await target.open();
  try {
    return await work(db);
  } finally {
    await db.close();
  }
}
