/**
 * A misbehaving bench driver for driver.test.ts, forked in place of
 * tools/bench/driver.ts. Its first argument picks the fault:
 * - `crash`: writes a line to stderr and exits with code 3 while loading;
 * - `die-on-simulators`: says ready, then exits with code 4 when asked to start the simulators;
 * - `silent`: never says ready (a hung startup).
 */
const mode = process.argv[2];

if (mode === 'crash') {
  process.stderr.write('fake driver: cannot load the simulators (boom)\n');
  process.exit(3);
} else if (mode === 'die-on-simulators') {
  process.on('disconnect', () => process.exit(0));
  process.on('message', (message: { type: string }) => {
    if (message.type === 'start-simulators') {
      process.stderr.write('fake driver: simulator port in use\n');
      process.exit(4);
    }
  });
  process.send!({ type: 'ready', pid: process.pid });
} else if (mode === 'silent') {
  process.on('disconnect', () => process.exit(0));
  setInterval(() => undefined, 60_000);
} else {
  process.stderr.write(`fake driver: unknown mode ${mode}\n`);
  process.exit(2);
}
