/** The CLI's recording and tenant-key commands on embedded PGlite (cli-recording-cases.ts). */
import { test } from 'uvu';
import { backends } from '../../support/databases.ts';
import { registerCliRecordingTests } from './cli-recording-cases.ts';

await registerCliRecordingTests((await backends()).find((b) => b.name === 'pglite')!);
test.run();
