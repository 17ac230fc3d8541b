/**
 * The CLI's end of the admin socket (src/cli/admin-protocol.ts). A command
 * that needs the embedded database, run while a server owns it, is sent to
 * that server and runs there; this process relays its output, its standard
 * input when asked, and its exit code.
 */
import { createConnection } from 'node:net';
import { dataDirOwner } from '../../storage/index.ts';
import { adminSocketPath, onMessages, send, SERVER_OWNER, type ServerMessage } from './admin-protocol.ts';
import { readProcessStdin } from './operator.ts';

/** How long a command waits for a server that owns the database but is still starting. */
const STARTING_SERVER_WAIT_MS = 60_000;

/**
 * Runs `argv` in the server that owns `dataDir`: resolves with the command's
 * exit code, or undefined when no server owns the directory (run it here).
 */
export async function runInOwningServer(dataDir: string, argv: string[]): Promise<number | undefined> {
  const deadline = Date.now() + STARTING_SERVER_WAIT_MS;
  for (;;) {
    const code = await forward(adminSocketPath(dataDir), argv);
    if (code !== 'no-server') return code;
    // No admin socket: a server may still be starting (it owns the lock before it listens for commands).
    const owner = await dataDirOwner(dataDir);
    if (owner?.owner !== SERVER_OWNER || Date.now() > deadline) return undefined;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function forward(path: string, argv: string[]): Promise<number | 'no-server'> {
  return new Promise((resolve, reject) => {
    const socket = createConnection(path);
    let connected = false;
    let exit: number | undefined;
    socket.on('connect', () => {
      connected = true;
      send(socket, { type: 'run', argv, cwd: process.cwd() });
    });
    onMessages<ServerMessage>(socket, (message) => {
      if (message.type === 'out') (message.fd === 2 ? process.stderr : process.stdout).write(message.data);
      else if (message.type === 'exit') exit = message.code;
      else if (message.type === 'stdin') {
        void readProcessStdin(message.prompt).then((bytes) => {
          send(socket, { type: 'stdin', data: bytes.toString('base64') });
          bytes.fill(0);
        });
      }
    });
    socket.on('error', (error: NodeJS.ErrnoException) => {
      if (!connected && (error.code === 'ENOENT' || error.code === 'ECONNREFUSED')) resolve('no-server');
      else reject(new Error(`lost the connection to the server running the command (${error.code ?? error.message})`));
    });
    socket.on('close', () => {
      if (exit !== undefined) resolve(exit);
      else if (connected) reject(new Error('the server stopped before the command finished'));
    });
  });
}
