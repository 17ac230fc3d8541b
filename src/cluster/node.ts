/**
 * This process as a node of the cluster: its id, a heartbeat row in Postgres every `heartbeatMs` (running,
 * or draining once it stops taking calls), and on start the end of whatever an earlier process with the
 * same id left open. Other nodes' reapers end this node's calls (`node-lost`) when its heartbeat is older
 * than `staleAfterMs`; a clean stop ends nothing in progress (the calls are over by then) and marks it stopped.
 */
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { endNode, nodeHeartbeat, type Database } from '../../storage/index.ts';
import type { Logger } from '../log.ts';

export interface ClusterNodeOptions {
  db: Database;
  id: string;
  /** Where this node takes SIP (shown in cluster_nodes; Kamailio's list is configured separately); set later with `sipUri`. */
  sipUri?: string;
  heartbeatMs: number;
  staleAfterMs: number;
  logger: Logger;
}

/** The default node id: the host name and a random suffix, so two processes on one host never share one. */
export function defaultNodeId(): string {
  return `${hostname()}-${randomBytes(3).toString('hex')}`;
}

export class ClusterNode {
  readonly id: string;
  readonly staleAfterMs: number;
  /** Sent with each heartbeat from the next one on. */
  sipUri: string | null;
  private state: 'running' | 'draining' = 'running';
  private timer: NodeJS.Timeout | undefined;
  private beating: Promise<void> = Promise.resolve();
  private failing = false;

  private constructor(private readonly options: ClusterNodeOptions) {
    this.id = options.id;
    this.staleAfterMs = options.staleAfterMs;
    this.sipUri = options.sipUri ?? null;
  }

  static async start(options: ClusterNodeOptions): Promise<ClusterNode> {
    const node = new ClusterNode(options);
    await nodeHeartbeat(options.db, node.id, node.sipUri, 'running');
    // Calls an earlier process with this id left open (it crashed and came back before a reaper saw it).
    const ended = await endNode(options.db, node.id, 'running', 'node-lost');
    if (ended) options.logger.warn({ nodeId: node.id, calls: ended }, 'ended calls an earlier process of this node left open');
    node.timer = setInterval(() => node.beat(), options.heartbeatMs);
    node.timer.unref();
    options.logger.info({ nodeId: node.id }, 'cluster node registered');
    return node;
  }

  /** From now on the heartbeat says "draining" (no new calls); sent at once. */
  draining(): Promise<void> {
    this.state = 'draining';
    return this.beat();
  }

  private beat(): Promise<void> {
    this.beating = this.beating.then(async () => {
      try {
        await nodeHeartbeat(this.options.db, this.id, this.sipUri, this.state);
        if (this.failing) this.options.logger.info({ nodeId: this.id }, 'heartbeat restored');
        this.failing = false;
      } catch (error) {
        if (!this.failing) this.options.logger.error({ nodeId: this.id, err: { message: (error as Error).message } }, 'heartbeat failed');
        this.failing = true;
      }
    });
    return this.beating;
  }

  /** Stops the heartbeat and marks the node stopped (its leases go; a call still open ends as `shutdown`). */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.beating;
    await endNode(this.options.db, this.id, 'stopped', 'shutdown');
  }
}
