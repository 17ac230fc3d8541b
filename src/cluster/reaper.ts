/**
 * The reaper, a leader job: every `intervalMs` it ends the calls of nodes whose heartbeat is older than
 * `staleAfterMs` (`node-lost`), so no call stays "in progress" forever after a node died.
 */
import { reapLostNodes, type Database } from '../../storage/index.ts';
import type { Logger } from '../log.ts';
import type { LeaderJob } from './leader.ts';

export function reaperJob(db: Database, options: { intervalMs: number; staleAfterMs: number; logger: Logger }): LeaderJob {
  return {
    name: 'reaper',
    start() {
      let running: Promise<void> = Promise.resolve();
      const tick = (): void => {
        running = running.then(async () => {
          try {
            for (const node of await reapLostNodes(db, options.staleAfterMs)) {
              options.logger.warn({ lostNodeId: node.nodeId, calls: node.callsEnded }, 'node lost: its calls were ended (node-lost)');
            }
          } catch (error) {
            options.logger.error({ err: { message: (error as Error).message } }, 'reaping lost nodes failed');
          }
        });
      };
      tick();
      const timer = setInterval(tick, options.intervalMs);
      timer.unref();
      return {
        async stop() {
          clearInterval(timer);
          await running;
        },
      };
    },
  };
}
