/**
 * One leader in the cluster for the jobs that must run once (the retention sweeper, the reaper of lost
 * nodes, the webhook delivery worker, the campaign runner): a session-level Postgres advisory lock held on a connection of its own (storage DbSession).
 * Every node tries to take it every `retryMs`; the one that holds it runs the jobs. When the leader dies,
 * its connection closes, Postgres releases the lock, and the next node to try takes over. On embedded
 * PGlite the one process is always the leader.
 *
 * Stopping (shutdown, or drain) tells every job to stop at once, so a campaign runner starts no new call
 * from that moment, and gives the lock up only when they have all stopped (the runner's calls in flight
 * have ended and been recorded): the next leader never sees a dial that is still going on as interrupted.
 */
import { LEADER_LOCK, type Database, type DbSession } from '../../storage/index.ts';
import type { Logger } from '../log.ts';

/** A job that runs while this node leads: started on taking the lead, stopped on losing it. */
export interface LeaderJob {
  name: string;
  start(): { stop(): Promise<void> };
}

export interface LeaderElectionOptions {
  db: Database;
  nodeId: string;
  retryMs: number;
  jobs: LeaderJob[];
  logger: Logger;
}

export class LeaderElection {
  private session: DbSession | undefined;
  private running: Array<{ stop(): Promise<void> }> = [];
  private timer: NodeJS.Timeout | undefined;
  private trying: Promise<void> = Promise.resolve();
  private stopped = false;

  private constructor(private readonly options: LeaderElectionOptions) {}

  static async start(options: LeaderElectionOptions): Promise<LeaderElection> {
    const election = new LeaderElection(options);
    await election.tick();
    election.timer = setInterval(() => void election.tick(), options.retryMs);
    election.timer.unref();
    return election;
  }

  get isLeader(): boolean {
    return this.running.length > 0 || (this.session !== undefined && this.options.jobs.length === 0);
  }

  /** Takes the lead if it is free, or checks that the session holding it is still alive. */
  tick(): Promise<void> {
    this.trying = this.trying.then(async () => {
      if (this.stopped) return;
      try {
        if (this.session) {
          await this.session.query('select 1');
          return;
        }
        const session = await this.options.db.session();
        const [row] = await session.query<{ ok: boolean }>('select pg_try_advisory_lock($1, $2) as ok', [LEADER_LOCK.namespace, LEADER_LOCK.leader]);
        if (!row?.ok) {
          await session.release();
          return;
        }
        if (this.stopped) {
          // stop() came while the lock was being taken: give it straight back.
          await session.query('select pg_advisory_unlock($1, $2)', [LEADER_LOCK.namespace, LEADER_LOCK.leader]).catch(() => undefined);
          await session.release();
          return;
        }
        this.session = session;
        this.options.logger.info({ nodeId: this.options.nodeId, jobs: this.options.jobs.map((j) => j.name) }, 'this node is the cluster leader');
        this.running = this.options.jobs.map((job) => job.start());
      } catch (error) {
        // The session holding the lock failed: the lock is gone with it, so stop leading until it is won again.
        if (this.session) this.options.logger.warn({ nodeId: this.options.nodeId, err: { message: (error as Error).message } }, 'lost the cluster lead');
        await this.resign(false);
      }
    });
    return this.trying;
  }

  /** Tells every running job to stop (all at once, synchronously) and resolves when they have. */
  private stopJobs(): Promise<void> {
    const jobs = this.running;
    this.running = [];
    return Promise.all(jobs.map((job) => job.stop().catch(() => undefined))).then(() => undefined);
  }

  private async resign(unlock: boolean): Promise<void> {
    await this.stopJobs();
    const session = this.session;
    this.session = undefined;
    if (!session) return;
    if (unlock) await session.query('select pg_advisory_unlock($1, $2)', [LEADER_LOCK.namespace, LEADER_LOCK.leader]).catch(() => undefined);
    await session.release().catch(() => undefined);
  }

  /** Stops the jobs, then gives the lead up (another node takes it on its next try). Idempotent. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    const jobsStopped = this.stopJobs();
    await this.trying;
    await jobsStopped;
    await this.resign(true);
  }
}
