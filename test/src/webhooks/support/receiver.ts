/**
 * A local webhook receiver for tests: verifies every request with the
 * `standardwebhooks` library (the receiver's side of the spec) against the
 * secrets it is told, and answers as the test says (a status, or never).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';

export interface Received {
  id: string;
  type: string;
  payload: { type: string; version: number; timestamp: string; data: Record<string, unknown> };
  /** Which of the receiver's secrets verified it (index into `secrets`). */
  verifiedWith: number;
  status: number;
}

export type Answer = number | 'hang';

export class Receiver {
  /** Every request that verified, in arrival order (whatever the answer). */
  readonly received: Received[] = [];
  /** Requests that did not verify. */
  unverified = 0;
  answer: (payload: Received['payload'], attempt: number) => Answer = () => 200;
  secrets: string[] = [];
  private readonly hanging = new Set<ServerResponse>();

  private constructor(private readonly server: Server, readonly url: string) {}

  static async start(path = '/hook'): Promise<Receiver> {
    let receiver: Receiver | undefined;
    const server = createServer((req, res) => receiver!.handle(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    receiver = new Receiver(server, `http://127.0.0.1:${port}${path}`);
    return receiver;
  }

  /** Ids delivered with a 2xx, in order. */
  get accepted(): Received[] {
    return this.received.filter((r) => r.status >= 200 && r.status < 300);
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const headers = { 'webhook-id': String(req.headers['webhook-id']), 'webhook-timestamp': String(req.headers['webhook-timestamp']), 'webhook-signature': String(req.headers['webhook-signature']) };
      const index = this.secrets.findIndex((secret) => {
        try {
          new Webhook(secret).verify(body, headers);
          return true;
        } catch {
          return false;
        }
      });
      if (index < 0) {
        this.unverified++;
        res.writeHead(401).end();
        return;
      }
      const payload = JSON.parse(body) as Received['payload'];
      const attempt = this.received.filter((r) => r.id === headers['webhook-id']).length + 1;
      const answer = this.answer(payload, attempt);
      const entry: Received = { id: headers['webhook-id'], type: payload.type, payload, verifiedWith: index, status: answer === 'hang' ? 0 : answer };
      this.received.push(entry);
      if (answer === 'hang') {
        this.hanging.add(res);
        return;
      }
      res.writeHead(answer).end('ok');
    });
  }

  async close(): Promise<void> {
    for (const res of this.hanging) res.destroy();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** A clock tests move by hand. */
export class ManualClock {
  private t: number;
  constructor(start = Date.now()) {
    this.t = start;
  }
  readonly now = (): Date => new Date(this.t);
  advance(ms: number): void {
    this.t += ms;
  }
}
