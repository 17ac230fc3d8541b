/**
 * Regenerates docs/bench-report.schema.json from the zod schema:
 *   npx tsx tools/bench/write-schema.ts
 * (test/tools/bench/report-schema.test.ts fails when the file is stale).
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { reportJsonSchema } from './report-schema.ts';

export const SCHEMA_FILE = fileURLToPath(new URL('../../docs/bench-report.schema.json', import.meta.url));

export function reportJsonSchemaText(): string {
  return JSON.stringify(reportJsonSchema(), null, 2) + '\n';
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  writeFileSync(SCHEMA_FILE, reportJsonSchemaText());
  process.stdout.write(`wrote ${SCHEMA_FILE}\n`);
}
