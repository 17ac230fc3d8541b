/**
 * Hands out RTP/RTCP UDP socket pairs: RTP on an even port, RTCP on the next
 * odd one (RFC 3550 11), from a configured range on one bind address. Ports
 * are tried round-robin from where the last allocation stopped, so a port just
 * released is not reused at once (stray packets from the old call land
 * nowhere). Without a range it asks the OS for an ephemeral even port (tests).
 */
import { createSocket } from 'node:dgram';
import type { Socket } from 'node:dgram';

export interface PortRange {
  minPort: number;
  maxPort: number;
}

export interface SocketPair {
  rtp: Socket;
  rtcp: Socket;
  port: number;
  address: string;
}

export class PortExhaustedError extends Error {
  override name = 'PortExhaustedError';
}

function bindSocket(address: string, port: number): Promise<Socket> {
  const type = address.includes(':') ? 'udp6' : 'udp4';
  return new Promise((resolve, reject) => {
    const socket = createSocket({ type });
    const onError = (err: Error): void => {
      socket.close();
      reject(err);
    };
    socket.once('error', onError);
    socket.bind({ address, port, exclusive: true }, () => {
      socket.off('error', onError);
      resolve(socket);
    });
  });
}

async function bindPairAt(address: string, port: number): Promise<SocketPair | undefined> {
  let rtp: Socket | undefined;
  try {
    rtp = await bindSocket(address, port);
    const actual = rtp.address().port;
    if (actual % 2 !== 0) {
      rtp.close();
      return undefined;
    }
    const rtcp = await bindSocket(address, actual + 1);
    return { rtp, rtcp, port: actual, address };
  } catch (err) {
    rtp?.close();
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE' || code === 'EACCES') return undefined;
    throw err;
  }
}

export class PortAllocator {
  readonly range: PortRange | undefined;
  private cursor: number;
  private readonly inUse = new Set<number>();

  constructor(range?: PortRange) {
    if (range) {
      const min = range.minPort + (range.minPort % 2);
      if (min + 1 > range.maxPort || range.minPort < 1 || range.maxPort > 65535) {
        throw new RangeError(`RTP port range ${range.minPort}-${range.maxPort} holds no even/odd pair`);
      }
      this.range = { minPort: min, maxPort: range.maxPort };
      this.cursor = min;
    } else {
      this.range = undefined;
      this.cursor = 0;
    }
  }

  /** Pairs currently handed out. */
  get allocated(): number {
    return this.inUse.size;
  }

  async allocate(address: string): Promise<SocketPair> {
    if (!this.range) {
      for (let attempt = 0; attempt < 50; attempt++) {
        const pair = await bindPairAt(address, 0);
        if (pair) {
          this.inUse.add(pair.port);
          return pair;
        }
      }
      throw new PortExhaustedError('could not bind an ephemeral even/odd UDP port pair');
    }
    const { minPort, maxPort } = this.range;
    const pairs = Math.floor((maxPort - minPort + 1) / 2);
    for (let i = 0; i < pairs; i++) {
      const port = this.cursor;
      this.cursor = port + 2 + 1 > maxPort ? minPort : port + 2;
      if (this.inUse.has(port)) continue;
      const pair = await bindPairAt(address, port);
      if (pair) {
        this.inUse.add(port);
        return pair;
      }
    }
    throw new PortExhaustedError(`no free RTP port pair in ${minPort}-${maxPort} on ${address}`);
  }

  /** Closes the pair's sockets and returns its port to the pool. */
  release(pair: SocketPair): void {
    this.inUse.delete(pair.port);
    for (const s of [pair.rtp, pair.rtcp]) {
      try {
        s.close();
      } catch {
        // already closed
      }
    }
  }
}

let defaultAllocator: PortAllocator | undefined;
/** The ephemeral-port allocator used when a session is given none. */
export function ephemeralPorts(): PortAllocator {
  defaultAllocator ??= new PortAllocator();
  return defaultAllocator;
}
