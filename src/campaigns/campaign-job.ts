/**
 * Campaign dialling in `serve`: the runner as a cluster-leader job, so one
 * node of a cluster paces each campaign (two runners would each pace on their
 * own), dialling through the configured carrier (SMARTALEX_CAMPAIGN_VIA).
 * Draining stops it starting calls at once; the calls it placed finish as the
 * drain lets them, and their outcomes are recorded before it stops.
 */
import type { CallManager } from '../calls/call-manager.ts';
import type { LeaderJob } from '../cluster/leader.ts';
import type { Logger } from '../log.ts';
import type { Database } from '../../storage/index.ts';
import { CampaignRunner } from './campaign-runner.ts';
import { sipDialer } from './dialer.ts';

export interface CampaignJobOptions {
  db: Database;
  calls: CallManager;
  via: string;
  ringTimeoutMs: number;
  pollMs: number;
  auth?: { username: string; password: string } | undefined;
  logger: Logger;
}

export interface CampaignJob extends LeaderJob {
  /** Stops starting calls (a drain); resolves when the calls in flight are recorded. */
  halt(): Promise<void>;
}

export function campaignJob(options: CampaignJobOptions): CampaignJob {
  let runner: CampaignRunner | undefined;
  let halted = false;
  return {
    name: 'campaigns',
    start() {
      const current = new CampaignRunner({
        db: options.db, logger: options.logger, pollMs: options.pollMs,
        dial: sipDialer({ db: options.db, calls: options.calls, via: options.via, ringTimeoutMs: options.ringTimeoutMs, ...(options.auth ? { auth: options.auth } : {}) }),
      });
      runner = current;
      if (!halted) current.start();
      return { stop: () => current.stop() };
    },
    async halt() {
      halted = true;
      await runner?.stop();
    },
  };
}
