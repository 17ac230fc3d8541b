/**
 * SIP transport layer (RFC 3261 section 18, RFC 3581): UDP, TCP and optional
 * TLS listeners on one bind address.
 *
 * Incoming: each datagram and framed stream message is first charged to its
 * source by the optional guard (Kamailio REQINIT order: a flooding or banned
 * source is dropped before anything parses its bytes, malformed or not), then
 * parsed; the top Via of a request gets `received`/`rport` filled in; the
 * guard drops scanners or answers requests; invalid requests get a 400 (or
 * 505/513) when enough parsed, everything else invalid is dropped and
 * counted. Outgoing: requests go to a target (TCP/TLS connections are reused);
 * responses go to where the request really came from, never to an address
 * the sender wrote (see sendResponse). Stream connections are held to a per-source count, closed when
 * idle or when a message does not complete in time (stream-deadlines.ts).
 * A listener that cannot bind fails `listen` with a SipListenError naming the
 * transport and port.
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { EventEmitter } from 'node:events';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { connect as tlsConnect, createServer as createTlsServer, type TLSSocket } from 'node:tls';
import { formatVia, parseVia } from './header-values.ts';
import type { SipUri } from './uri.ts';
import { ConnectionLimits } from './connection-limits.ts';
import type { SipGuard } from './guard.ts';
import { createResponseTo, type SipMessage, type SipRequest, type SipResponse } from './message.ts';
import { parseMessage } from './parser.ts';
import { serializeMessage } from './serializer.ts';
import { StreamDeadlines } from './stream-deadlines.ts';
import { StreamFramer } from './stream-framer.ts';

export type TransportName = 'UDP' | 'TCP' | 'TLS';

/** Where a message came from (or where one goes). */
export interface SipPeer {
  transport: TransportName;
  address: string;
  port: number;
  /** Stream connection the message arrived on, when any. */
  connectionId?: number;
}

/**
 * Where a request to a SIP URI goes (RFC 3263 without DNS): the URI's host and port, over its `transport`
 * parameter, else TLS for sips:, else `fallback`; the port defaults to 5061 for TLS and 5060 otherwise.
 */
export function peerForUri(uri: SipUri, fallback: TransportName): SipPeer {
  const t = (uri.params.transport ?? '').toUpperCase();
  const transport: TransportName = t === 'TCP' || t === 'TLS' || t === 'UDP' ? t : uri.scheme === 'sips' ? 'TLS' : fallback;
  return { transport, address: uri.host.replace(/^\[|\]$/g, ''), port: uri.port ?? (transport === 'TLS' ? 5061 : 5060) };
}

export interface SipTransportOptions {
  /** Bind address; default 127.0.0.1. */
  host?: string;
  /** UDP port (0 = ephemeral); null disables UDP. Default 0. */
  udpPort?: number | null;
  /** TCP port (0 = ephemeral); null disables TCP. Default 0. */
  tcpPort?: number | null;
  /** With tcpPort 0: try the port UDP got first, so one ephemeral port serves both (falls back to any port). */
  tcpSameAsUdp?: boolean;
  /** TLS listener when cert and key are given. */
  tls?: { port?: number; cert: string | Buffer; key: string | Buffer };
  /**
   * TLS connections we open (requests to sips: or ;transport=tls targets). The
   * peer's certificate is verified unless `rejectUnauthorized` is false: `ca`
   * is the trusted roots for this transport (e.g. a carrier's private CA, or a
   * test's throwaway cert) instead of Node's default list; `servername` is the
   * name to verify when the target is dialled by address. Default: verified
   * against Node's CAs and the target host.
   */
  tlsClient?: { ca?: string | Buffer | Array<string | Buffer>; servername?: string; rejectUnauthorized?: boolean };
  /** Address written into Via/Contact (defaults to host, or 127.0.0.1 when host is 0.0.0.0). */
  advertisedAddress?: string;
  maxMessageSize?: number;
  /** Stream connections with no complete message for this long are closed. Default 60 s. */
  tcpIdleMs?: number;
  /** A stream message (and a TLS handshake) must complete within this long of its first byte. Default 5 s. */
  messageTimeoutMs?: number;
  /** Open stream connections at most. Default 1000. */
  maxConnections?: number;
  /** Accepted stream connections (TCP and TLS together) per source address at most. Default 64. */
  maxConnectionsPerSource?: number;
  /** Request guard (flood, scanners, Max-Forwards) applied before messages are emitted. */
  guard?: SipGuard;
}

export interface TransportStats {
  received: number;
  parsed: number;
  /**
   * Drop counts by reason: unparseable, invalid-response, banned, rate, scanner, framing, send-failed,
   * connection-limit, source-connection-limit, message-timeout, tls-handshake...
   */
  dropped: Record<string, number>;
  /** Error responses (400, 505, 513) the transport sent for requests it could not accept. */
  responded400: number;
  guardRejected: number;
}

interface Connection {
  id: number;
  socket: Socket | TLSSocket;
  transport: 'TCP' | 'TLS';
  key: string;
  framer: StreamFramer;
  deadlines: StreamDeadlines;
}

/** A listener could not bind (port in use, no permission...); `cause` is the socket error. */
export class SipListenError extends Error {
  override name = 'SipListenError';
  readonly code: string | undefined;
  constructor(readonly transport: TransportName, readonly host: string, readonly port: number, cause: unknown) {
    const code = (cause as NodeJS.ErrnoException | undefined)?.code;
    super(`cannot listen for SIP over ${transport} on ${host}:${port}${code ? ` (${code})` : ''}`, { cause });
    this.code = code;
  }
}

export interface SipTransportEvents {
  message: [message: SipMessage, source: SipPeer];
  error: [error: Error];
}

export class SipTransport extends EventEmitter<SipTransportEvents> {
  readonly stats: TransportStats = { received: 0, parsed: 0, dropped: {}, responded400: 0, guardRejected: 0 };
  readonly ports: { udp?: number; tcp?: number; tls?: number } = {};
  readonly advertisedAddress: string;
  private udp: UdpSocket | undefined;
  private tcpServer: Server | undefined;
  private tlsServer: Server | undefined;
  private readonly connections = new Map<number, Connection>();
  private readonly connectionsByKey = new Map<string, Connection>();
  private readonly perSource: ConnectionLimits;
  private nextConnectionId = 1;
  private closed = false;

  private constructor(private readonly options: SipTransportOptions) {
    super();
    const host = options.host ?? '127.0.0.1';
    this.advertisedAddress = options.advertisedAddress ?? (host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host);
    this.perSource = new ConnectionLimits(options.maxConnectionsPerSource ?? 64);
  }

  /** Binds the listeners; resolves once every one is listening. */
  static async listen(options: SipTransportOptions = {}): Promise<SipTransport> {
    const t = new SipTransport(options);
    try {
      await t.bind();
    } catch (error) {
      await t.close();
      throw error;
    }
    return t;
  }

  private async bind(): Promise<void> {
    const host = this.options.host ?? '127.0.0.1';
    if (this.options.udpPort !== null) {
      const udp = createSocket(host.includes(':') ? 'udp6' : 'udp4');
      this.udp = udp;
      udp.on('message', (data, rinfo) => this.onDatagram(data, rinfo.address, rinfo.port));
      const wanted = this.options.udpPort ?? 0;
      await new Promise<void>((resolve, reject) => { udp.once('error', reject); udp.bind(wanted, host, () => { udp.off('error', reject); resolve(); }); })
        .catch((error: unknown) => { this.udp = undefined; udp.close(); throw new SipListenError('UDP', host, wanted, error); });
      // Only now: an 'error' emitted while nobody listens yet would crash the process.
      udp.on('error', (err) => this.emit('error', err));
      this.ports.udp = udp.address().port;
    }
    if (this.options.tcpPort !== null) {
      const server = createServer();
      server.on('connection', (socket) => { if (this.admitConnection(socket)) this.adopt(socket, 'TCP'); });
      this.tcpServer = server;
      const wanted = this.options.tcpPort ?? 0;
      const listening = wanted === 0 && this.options.tcpSameAsUdp && this.ports.udp !== undefined
        ? listenServer(server, this.ports.udp, host).catch(() => listenServer(server, 0, host))
        : listenServer(server, wanted, host);
      this.ports.tcp = await listening.catch((error: unknown) => { this.tcpServer = undefined; throw new SipListenError('TCP', host, wanted, error); });
    }
    if (this.options.tls) {
      const server = createTlsServer({ cert: this.options.tls.cert, key: this.options.tls.key, handshakeTimeout: this.messageTimeoutMs }, (socket) => this.adopt(socket, 'TLS'));
      // Counted per source from the raw connection on, so unfinished handshakes count too.
      server.on('connection', (socket: Socket) => { this.admitConnection(socket); });
      server.on('tlsClientError', (_error, socket) => { this.drop('tls-handshake'); socket.destroy(); });
      this.tlsServer = server;
      const wanted = this.options.tls.port ?? 0;
      this.ports.tls = await listenServer(server, wanted, host).catch((error: unknown) => { this.tlsServer = undefined; throw new SipListenError('TLS', host, wanted, error); });
    }
  }

  /** The port this transport listens on for a given transport name. */
  localPort(transport: TransportName): number {
    const p = transport === 'UDP' ? this.ports.udp : transport === 'TCP' ? this.ports.tcp : this.ports.tls;
    if (p === undefined) throw new Error(`${transport} is not enabled`);
    return p;
  }

  /** A Via value for a request we send (with rport, RFC 3581). */
  viaFor(transport: TransportName, branch: string): string {
    return `SIP/2.0/${transport} ${this.advertisedAddress}:${this.localPort(transport)};branch=${branch};rport`;
  }

  private drop(reason: string): void {
    this.stats.dropped[reason] = (this.stats.dropped[reason] ?? 0) + 1;
  }

  // ------------------------------------------------------------ incoming

  private get messageTimeoutMs(): number {
    return this.options.messageTimeoutMs ?? 5000;
  }

  /** Charges one datagram or stream message to its source before parsing; false: drop it. */
  private admit(address: string): boolean {
    const verdict = this.options.guard?.admit(address);
    if (!verdict || verdict.action === 'accept') return true;
    this.drop(verdict.reason);
    return false;
  }

  private onDatagram(data: Buffer, address: string, port: number): void {
    this.stats.received++;
    if (!this.admit(address)) return;
    // RFC 5626 keep-alive over UDP: a bare CRLF (or CRLFCRLF) datagram.
    if (data.length <= 4 && data.every((b) => b === 0x0d || b === 0x0a)) return;
    this.handleBytes(data, { transport: 'UDP', address, port }, true);
  }

  /**
   * An accepted TCP or raw TLS connection: charged to its source like a message (a connect flood is
   * banned too), refused when the source is banned or already holds its quota.
   */
  private admitConnection(socket: Socket): boolean {
    const address = socket.remoteAddress ?? '';
    if (this.closed || !this.admit(address)) { socket.destroy(); return false; }
    if (!this.perSource.acquire(address)) { this.drop('source-connection-limit'); socket.destroy(); return false; }
    socket.once('close', () => this.perSource.release(address));
    return true;
  }

  private adopt(socket: Socket | TLSSocket, transport: 'TCP' | 'TLS'): Connection | undefined {
    if (this.closed || this.connections.size >= (this.options.maxConnections ?? 1000)) {
      socket.destroy();
      this.drop('connection-limit');
      return undefined;
    }
    const id = this.nextConnectionId++;
    const key = `${transport}:${socket.remoteAddress}:${socket.remotePort}`;
    const deadlines = new StreamDeadlines({
      idleMs: this.options.tcpIdleMs ?? 60_000,
      messageMs: this.messageTimeoutMs,
      onExpired: (which) => { if (which === 'message') this.drop('message-timeout'); socket.destroy(); },
    });
    const conn: Connection = { id, socket, transport, key, framer: new StreamFramer({ maxMessageSize: this.options.maxMessageSize ?? 64 * 1024 }), deadlines };
    this.connections.set(id, conn);
    this.connectionsByKey.set(key, conn);
    socket.on('data', (chunk: Buffer) => this.onStreamData(conn, chunk));
    socket.on('error', () => { /* closed below */ });
    socket.on('close', () => this.forget(conn));
    return conn;
  }

  private forget(conn: Connection): void {
    conn.deadlines.stop();
    this.connections.delete(conn.id);
    if (this.connectionsByKey.get(conn.key) === conn) this.connectionsByKey.delete(conn.key);
  }

  private onStreamData(conn: Connection, chunk: Buffer): void {
    const address = conn.socket.remoteAddress ?? '';
    let boundary = false;
    for (const ev of conn.framer.push(chunk)) {
      if (ev.type === 'error') {
        this.stats.received++;
        this.drop('framing');
        conn.socket.destroy();
        return;
      }
      boundary = true;
      conn.deadlines.activity();
      if (ev.type === 'keepalive') { if (!ev.pong) conn.socket.write('\r\n'); continue; }
      this.stats.received++;
      if (!this.admit(address)) { conn.socket.destroy(); return; }
      this.handleBytes(ev.data, { transport: conn.transport, address, port: conn.socket.remotePort ?? 0, connectionId: conn.id }, false);
    }
    conn.deadlines.progress(conn.framer.bufferedBytes > 0, boundary);
  }

  private handleBytes(data: Buffer, source: SipPeer, datagram: boolean): void {
    const result = parseMessage(data, { datagram, ...(this.options.maxMessageSize ? { maxMessageSize: this.options.maxMessageSize } : {}) });
    if (!result.ok) {
      const partial = result.partial;
      // A scanner is dropped silently even when its request is broken: a 400 would confirm a target.
      if (partial?.kind === 'request' && this.options.guard?.inspect(partial, source.address).action === 'drop') return this.drop('scanner');
      if (result.canRespond && partial?.kind === 'request' && partial.method !== 'ACK') {
        stampVia(partial, source);
        const status = result.status ?? 400;
        const reason = status === 400 ? `Bad Request (${result.reason})`.replace(/[\r\n]/g, ' ').slice(0, 120) : undefined;
        this.stats.responded400++;
        void this.sendResponse(createResponseTo(partial, status, reason), source).catch(() => this.drop('send-failed'));
      } else this.drop(partial?.kind === 'response' ? 'invalid-response' : 'unparseable');
      return;
    }
    this.stats.parsed++;
    const message = result.message;
    if (message.kind === 'request') {
      stampVia(message, source);
      const guard = this.options.guard;
      if (guard) {
        const verdict = guard.inspect(message, source.address);
        if (verdict.action === 'drop') return this.drop(verdict.reason);
        if (verdict.action === 'reject') {
          this.stats.guardRejected++;
          if (message.method !== 'ACK') void this.sendResponse(createResponseTo(message, verdict.status, verdict.reason), source).catch(() => this.drop('send-failed'));
          return;
        }
      }
    }
    this.emit('message', message, source);
  }

  // ------------------------------------------------------------ outgoing

  /** Sends a message to a peer. Stream transports reuse a connection to the same address:port or open one. */
  async send(message: SipMessage, target: SipPeer): Promise<void> {
    const data = serializeMessage(message);
    if (target.transport === 'UDP') {
      const udp = this.udp;
      if (!udp) throw new Error('UDP is not enabled');
      await new Promise<void>((resolve, reject) => udp.send(data, target.port, target.address, (err) => (err ? reject(err) : resolve())));
      return;
    }
    const conn = (target.connectionId !== undefined ? this.connections.get(target.connectionId) : undefined) ??
      this.connectionsByKey.get(`${target.transport}:${target.address}:${target.port}`) ??
      (await this.connect(target.transport, target.address, target.port));
    conn.deadlines.activity();
    await new Promise<void>((resolve, reject) => conn.socket.write(data, (err) => (err ? reject(err) : resolve())));
  }

  private connect(transport: 'TCP' | 'TLS', address: string, port: number): Promise<Connection> {
    return new Promise((resolve, reject) => {
      const socket = transport === 'TCP'
        ? createConnection({ host: address, port })
        : tlsConnect({
          host: address, port, rejectUnauthorized: this.options.tlsClient?.rejectUnauthorized ?? true,
          ...(this.options.tlsClient?.ca !== undefined ? { ca: this.options.tlsClient.ca } : {}),
          ...(this.options.tlsClient?.servername !== undefined ? { servername: this.options.tlsClient.servername } : {}),
        });
      const onError = (err: Error) => reject(err);
      socket.once('error', onError);
      socket.once(transport === 'TCP' ? 'connect' : 'secureConnect', () => {
        socket.off('error', onError);
        const conn = this.adopt(socket, transport);
        if (!conn) reject(new Error('connection limit reached'));
        else {
          // Key the connection by the address we dialled so later requests reuse it.
          const key = `${transport}:${address}:${port}`;
          conn.key = key;
          this.connectionsByKey.set(key, conn);
          resolve(conn);
        }
      });
    });
  }

  /**
   * Sends a response to where its request really came from (RFC 3261 18.2.2,
   * RFC 3581), never to an address the sender wrote in its Via (a `received`
   * or `rport` it made up would turn us into a reflector, and over TCP into a
   * connection opener to any host:port):
   * - stream: the connection the request came on; when that has closed, a new
   *   connection to the request's source address at the Via's sent-by port
   *   (the default port without one), never to another address;
   * - UDP: the source address, at the source port when the Via asked for
   *   rport, else at the sent-by port. A datagram is answered over UDP
   *   whatever transport its Via names.
   * maddr (multicast) is deliberately not honoured.
   */
  async sendResponse(response: SipResponse, requestSource: SipPeer): Promise<void> {
    const top = response.headers.getList('via')[0];
    const via = top ? parseVia(top) : null;
    if (!via) throw new Error('response has no usable Via');
    const { transport, address } = requestSource;
    if (transport === 'UDP') {
      const port = 'rport' in via.params ? requestSource.port : via.port ?? 5060;
      return this.send(response, { transport, address, port });
    }
    if (requestSource.connectionId !== undefined && this.connections.has(requestSource.connectionId)) {
      return this.send(response, requestSource);
    }
    return this.send(response, { transport, address, port: via.port ?? (transport === 'TLS' ? 5061 : 5060) });
  }

  /** The open stream connection a message to `peer` would go on (its own connection, else one to its address:port). */
  connectionTo(peer: SipPeer): number | undefined {
    if (peer.transport === 'UDP') return undefined;
    if (peer.connectionId !== undefined && this.connections.has(peer.connectionId)) return peer.connectionId;
    return this.connectionsByKey.get(`${peer.transport}:${peer.address}:${peer.port}`)?.id;
  }

  get openConnections(): number {
    return this.connections.size;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const conn of this.connections.values()) conn.socket.destroy();
    this.connections.clear();
    this.connectionsByKey.clear();
    await Promise.all([
      this.udp ? new Promise<void>((r) => this.udp!.close(() => r())) : undefined,
      this.tcpServer ? new Promise<void>((r) => this.tcpServer!.close(() => r())) : undefined,
      this.tlsServer ? new Promise<void>((r) => this.tlsServer!.close(() => r())) : undefined,
    ]);
  }
}

function listenServer(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      const addr = server.address();
      resolve(typeof addr === 'object' && addr ? addr.port : port);
    });
  });
}

/**
 * RFC 3261 18.2.1 / RFC 3581 4: record where the request really came from in
 * its top Via. A `received` or `rport` value the sender wrote is overwritten,
 * never kept: received is the source address whenever the sent-by host
 * differs from it or the Via carries received or rport at all, and an rport
 * (asked for or made up) always carries the source port.
 */
function stampVia(req: SipRequest, source: SipPeer): void {
  const values = req.headers.getList('via');
  const top = values[0];
  const via = top ? parseVia(top) : null;
  if (!via) return;
  const before = formatVia(via);
  const hasRport = 'rport' in via.params;
  if (via.host.replace(/^\[|\]$/g, '') !== source.address || 'received' in via.params || hasRport) via.params.received = source.address;
  if (hasRport) via.params.rport = String(source.port);
  const after = formatVia(via);
  if (after === before) return;
  const rest = values.slice(1);
  req.headers.remove('via');
  // Keep Via lines together at the position of the old ones (they are the first headers in practice).
  req.headers.prepend('Via', after);
  for (const v of rest) req.headers.append('Via', v);
}
