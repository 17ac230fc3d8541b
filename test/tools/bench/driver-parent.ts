/**
 * A stand-in for `smartalex bench` for driver.test.ts: starts the real bench
 * driver with the simulators, prints `driver <pid>` on stdout and waits to be
 * killed, so the test can check that the driver does not outlive it.
 */
import { startBenchDriver } from '../../../tools/bench/driver-client.ts';

const driver = await startBenchDriver({ output: { write: () => true } });
await driver.startSimulators('instant', {}, 'parent-test-key');
process.stdout.write(`driver ${driver.pid}\n`);
setInterval(() => undefined, 60_000);
