/**
 * One process at a time owns an embedded (PGlite) database directory. Two
 * openers corrupt it quietly: closing one marks the database cleanly shut
 * down while the other keeps writing WAL that a restart then ignores.
 *
 * The lock is a listening Unix socket, `db.lock`, in the data directory.
 * Node has no flock(); a lock file holding a pid needs a liveness test
 * (kill(pid, 0)) that a reused pid fools and that means nothing across pid
 * namespaces. A listening socket needs none: bind() is atomic (EADDRINUSE
 * when the name exists), and the kernel stops accepting on it the moment its
 * process dies, however it dies (SIGKILL included). So connecting tells a
 * live owner (accepted; it answers with one JSON line naming itself) from a
 * stale file (ECONNREFUSED), with no pid involved. The file is mode 0600 in
 * a 0700 directory.
 *
 * A stale file is removed by exactly one taker: the one that creates the
 * marker `db.lock.stale-<ino>-<ctime>` (O_EXCL) for that very file, which is
 * then unlinked only while the name still points to it; everyone else waits
 * for the name to change and starts over. A marker left by a taker that died
 * in that step is ignored after STALE_MARKER_MS.
 */
import { closeSync, lstatSync, openSync, unlinkSync, type BigIntStats } from 'node:fs';
import { chmod } from 'node:fs/promises';
import { createConnection, createServer, type Server } from 'node:net';
import { resolve } from 'node:path';

export const LOCK_FILE = 'db.lock';
/** sun_path holds 108 bytes with its NUL; libuv truncates a longer path silently. */
const MAX_SOCKET_PATH = 107;
const STALE_MARKER_MS = 10_000;
const ACQUIRE_DEADLINE_MS = 30_000;

export interface LockOwner { pid: number; owner: string }

/** The directory is owned by another live process. */
export class DataDirLockedError extends Error {
  constructor(readonly dataDir: string, readonly holder: LockOwner | undefined) {
    super(`${dataDir} is in use by ${holder ? `${holder.owner} (pid ${holder.pid})` : 'another process'}: one process at a time owns the embedded database`);
    this.name = 'DataDirLockedError';
  }
}

export interface DataDirLock {
  readonly path: string;
  release(): Promise<void>;
}

/** The socket path for `name` in `dataDir`, checked against the sun_path limit. */
export function socketPath(dataDir: string, name: string): string {
  const path = resolve(dataDir, name);
  if (Buffer.byteLength(path) > MAX_SOCKET_PATH) {
    throw new Error(`the data directory path is too long for its ${name} socket (${path}: ${Buffer.byteLength(path)} bytes, at most ${MAX_SOCKET_PATH})`);
  }
  return path;
}

/** Takes the lock on `dataDir` for `owner` (e.g. "the server"), or throws DataDirLockedError. */
export async function lockDataDir(dataDir: string, owner: string): Promise<DataDirLock> {
  const path = socketPath(dataDir, LOCK_FILE);
  const hello = JSON.stringify({ pid: process.pid, owner } satisfies LockOwner) + '\n';
  const deadline = Date.now() + ACQUIRE_DEADLINE_MS;
  for (;;) {
    const server = await listen(path, hello);
    if (server) {
      await chmod(path, 0o600);
      return { path, release: () => close(server) };
    }
    const found = identity(path);
    if (!found) continue; // removed meanwhile: try to bind again
    const answer = await probe(path);
    if (answer !== 'refused') throw new DataDirLockedError(resolve(dataDir), answer === 'no-answer' ? undefined : answer);
    removeStale(path, found);
    if (Date.now() > deadline) throw new Error(`could not take the lock ${path} (a stale lock is being removed by another process)`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Who owns `dataDir` now, or undefined when nobody does (no file, or a stale one). */
export async function dataDirOwner(dataDir: string): Promise<LockOwner | undefined> {
  const answer = await probe(socketPath(dataDir, LOCK_FILE));
  return typeof answer === 'object' ? answer : answer === 'no-answer' ? { pid: 0, owner: 'another process' } : undefined;
}

function listen(path: string, hello: string): Promise<Server | undefined> {
  return new Promise((resolve, reject) => {
    const server = createServer((socket) => {
      socket.on('error', () => undefined);
      socket.end(hello);
    });
    server.once('error', (error: NodeJS.ErrnoException) => (error.code === 'EADDRINUSE' ? resolve(undefined) : reject(error)));
    server.listen(path, () => {
      server.unref(); // the lock never keeps a process alive on its own
      resolve(server);
    });
  });
}

/** libuv unlinks the socket file before closing it, so no other process can bind the name while this one still listens. */
function close(server: Server): Promise<void> {
  return new Promise<void>((resolve) => server.close(() => resolve()));
}

type Probe = LockOwner | 'refused' | 'no-answer';

/** Connects to the lock: a live owner answers with its hello, a stale file refuses. */
function probe(path: string): Promise<Probe> {
  return new Promise((resolve) => {
    const socket = createConnection(path);
    let text = '';
    const done = (value: Probe): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(value);
    };
    const timer = setTimeout(() => done('no-answer'), 5_000);
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      text += chunk;
      const line = text.split('\n')[0];
      if (text.includes('\n') && line) {
        try {
          const parsed = JSON.parse(line) as LockOwner;
          done({ pid: Number(parsed.pid), owner: String(parsed.owner) });
        } catch {
          done('no-answer');
        }
      }
    });
    socket.on('end', () => done('no-answer'));
    socket.on('error', (error: NodeJS.ErrnoException) => done(error.code === 'ECONNREFUSED' || error.code === 'ENOENT' ? 'refused' : 'no-answer'));
  });
}

interface FileIdentity { ino: bigint; ctimeNs: bigint }

function identity(path: string): FileIdentity | undefined {
  try {
    const st: BigIntStats = lstatSync(path, { bigint: true });
    return { ino: st.ino, ctimeNs: st.ctimeNs };
  } catch {
    return undefined;
  }
}

const same = (a: FileIdentity | undefined, b: FileIdentity): boolean => a !== undefined && a.ino === b.ino && a.ctimeNs === b.ctimeNs;

/** Unlinks the stale lock file `found`, unless another taker holds its marker (then the caller retries). */
function removeStale(path: string, found: FileIdentity): void {
  const marker = `${path}.stale-${found.ino}-${found.ctimeNs}`;
  let fd: number;
  try {
    fd = openSync(marker, 'wx', 0o600);
  } catch {
    try {
      if (Date.now() - Number(lstatSync(marker, { bigint: true }).mtimeNs / 1_000_000n) > STALE_MARKER_MS) unlinkSync(marker);
    } catch { /* the other taker finished */ }
    return;
  }
  closeSync(fd);
  try {
    if (same(identity(path), found)) unlinkSync(path);
  } finally {
    unlinkSync(marker);
  }
}
