/**
 * The admin socket: how a `smartalex` command reaches the server that owns
 * an embedded data directory (src/cli/admin-server.ts, admin-client.ts).
 *
 * A Unix domain socket, `<dataDir>/admin/cli.sock`, in a directory of mode
 * 0700 owned by the server's user (so only that user, or root, can connect),
 * socket mode 0600. One connection runs one command; messages are JSON, one
 * per line:
 *   client -> server  {type:'run', argv, cwd}, later {type:'stdin', data}
 *   server -> client  {type:'out', fd: 1|2, data}, {type:'stdin', prompt?}
 *                     (the command reads standard input), {type:'exit', code}
 * Standard input (a password, an API key) is sent only when the command asks
 * for it, base64 in one message; neither side logs it.
 */
import { chmodSync, lstatSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Socket } from 'node:net';
import { socketPath } from '../../storage/index.ts';

export type ClientMessage =
  | { type: 'run'; argv: string[]; cwd: string }
  | { type: 'stdin'; data: string };
export type ServerMessage =
  | { type: 'out'; fd: 1 | 2; data: string }
  | { type: 'stdin'; prompt?: string }
  | { type: 'exit'; code: number };

const ADMIN_DIR = 'admin';

/** The name the server takes the data directory's lock under (storage/data-dir-lock.ts). */
export const SERVER_OWNER = 'the server';

/** The socket's path (checked against the Unix socket path limit). */
export function adminSocketPath(dataDir: string): string {
  return socketPath(dataDir, join(ADMIN_DIR, 'cli.sock'));
}

/** Creates the socket's directory, mode 0700, and checks it is a real directory of this user's. */
export function privateAdminDir(dataDir: string): void {
  const dir = join(dataDir, ADMIN_DIR);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const st = lstatSync(dir);
  if (!st.isDirectory() || (process.getuid && st.uid !== process.getuid())) throw new Error(`${dir} must be a directory owned by this user`);
  chmodSync(dir, 0o700);
}

export function send(socket: Socket, message: ClientMessage | ServerMessage): void {
  if (!socket.destroyed && socket.writable) socket.write(JSON.stringify(message) + '\n');
}

/** Calls `onMessage` for each JSON line arriving on `socket`; a line that does not parse ends the connection. */
export function onMessages<T>(socket: Socket, onMessage: (message: T) => void): void {
  let buffered = '';
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => {
    buffered += chunk;
    for (let end = buffered.indexOf('\n'); end >= 0; end = buffered.indexOf('\n')) {
      const line = buffered.slice(0, end);
      buffered = buffered.slice(end + 1);
      let message: T;
      try {
        message = JSON.parse(line) as T;
      } catch {
        socket.destroy();
        return;
      }
      onMessage(message);
    }
  });
}
