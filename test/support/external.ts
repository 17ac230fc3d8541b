/**
 * Tests that need an outside program (a Postgres server, SIPp, espeak-ng...)
 * call `needExternal`. When the program is missing the part is reported loudly
 * as NOT RUN; with SMARTALEX_REQUIRE_EXTERNAL=1 (set by CI) that is a failure.
 */
import { spawnSync } from 'node:child_process';

export function hasCommand(command: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
}

/** Returns true when the test may go on; false (after a loud notice) when it must not. */
export function needExternal(available: boolean, what: string, why: string): boolean {
  if (available) return true;
  const line = `NOT RUN: ${what} is not available, so ${why} did not run`;
  if (process.env.SMARTALEX_REQUIRE_EXTERNAL === '1') throw new Error(`${line} (SMARTALEX_REQUIRE_EXTERNAL=1)`);
  console.warn(`\n*** ${line} ***\n`);
  return false;
}
