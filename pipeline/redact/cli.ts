/**
 * `smartalex redact`: reads transcript text on stdin and writes the redaction
 * as JSON. Each input line is redacted on its own and written as one JSON
 * object `{"text": ..., "entities": [{"type","start","end"}]}` followed by a
 * newline (JSON Lines), so a single line of input gives a single JSON object
 * and N lines give N objects in the same order. Empty lines give
 * `{"text":"","entities":[]}` to keep line numbers aligned; a trailing newline
 * at the end of input does not add an empty line. Offsets are into the
 * redacted `text`. Input is processed line by line as it streams; nothing of
 * it is logged.
 */
import { createInterface } from 'node:readline';
import { once } from 'node:events';
import { redact } from './redact.ts';

/** Resolves with the number of lines written, once stdin has ended. */
export async function runRedactCli(stdin: NodeJS.ReadableStream, stdout: NodeJS.WritableStream): Promise<number> {
  const lines = createInterface({ input: stdin, crlfDelay: Infinity });
  let count = 0;
  for await (const line of lines) {
    const ok = stdout.write(`${JSON.stringify(redact(line))}\n`);
    count++;
    if (!ok) await once(stdout, 'drain');
  }
  return count;
}
