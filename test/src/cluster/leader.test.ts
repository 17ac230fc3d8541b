/**
 * LeaderElection's hand-over (src/cluster/leader.ts): stop() tells every job to stop at once (a campaign
 * runner starts no new call from that moment), and the advisory lock stays held until they have all
 * stopped, so the next leader never finds a dial still going on. PGlite and Postgres; the second node
 * (a session of its own) only on Postgres, where sessions are separate connections.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { LEADER_LOCK } from '../../../storage/index.ts';
import { LeaderElection, type LeaderJob } from '../../../src/cluster/leader.ts';
import { createLogger } from '../../../src/log.ts';
import { backends } from '../../support/databases.ts';
import { waitFor } from '../../support/poll.ts';

const logger = createLogger('silent');

/** A job whose stop() is observed and finishes only when the test says so. */
function slowJob(name: string) {
  const state = { started: 0, stopCalled: 0, finishStop: () => {} };
  const job: LeaderJob = {
    name,
    start: () => {
      state.started++;
      return { stop: () => { state.stopCalled++; return new Promise<void>((resolve) => { state.finishStop = resolve; }); } };
    },
  };
  return { job, state };
}

for (const backend of await backends()) {
  test(`[${backend.name}] stop() tells every job at once and gives the lock up only after they stopped`, async () => {
    const db = await backend.open();
    const a = slowJob('a');
    const b = slowJob('b');
    const election = await LeaderElection.start({ db, nodeId: 'n1', retryMs: 60_000, jobs: [a.job, b.job], logger });
    const other = db.kind === 'postgres' ? await db.session() : undefined;
    const tryLock = async (): Promise<boolean> => {
      const [row] = await other!.query<{ ok: boolean }>('select pg_try_advisory_lock($1, $2) as ok', [LEADER_LOCK.namespace, LEADER_LOCK.leader]);
      return row!.ok;
    };
    try {
      assert.ok(election.isLeader);
      assert.equal([a.state.started, b.state.started], [1, 1]);
      const stopping = election.stop();
      assert.equal([a.state.stopCalled, b.state.stopCalled], [1, 1], 'both jobs were told to stop synchronously, neither waits for the other');
      if (other) assert.is(await tryLock(), false, 'the lock is held while a job is still stopping');
      a.state.finishStop();
      b.state.finishStop();
      await stopping;
      if (other) await waitFor('the lock to be free for another node', tryLock, { timeoutMs: 10_000, intervalMs: 50 });
      await election.stop(); // idempotent
      assert.equal([a.state.stopCalled, b.state.stopCalled], [1, 1]);
    } finally {
      await other?.release();
      await backend.cleanup();
    }
  });
}

test.run();
