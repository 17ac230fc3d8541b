/**
 * The CLI's recording and tenant-key commands on a Postgres server
 * (cli-recording-cases.ts), when SMARTALEX_TEST_DATABASE_URL names one
 * (reported as NOT RUN otherwise; a failure under SMARTALEX_REQUIRE_EXTERNAL=1).
 */
import { test } from 'uvu';
import { backends } from '../../support/databases.ts';
import { registerCliRecordingTests } from './cli-recording-cases.ts';

const postgres = (await backends()).find((b) => b.name === 'postgres');
if (postgres) await registerCliRecordingTests(postgres);
test.run();
