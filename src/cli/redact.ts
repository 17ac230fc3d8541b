/**
 * `smartalex redact`: transcript text on standard input, one JSON object per
 * line on standard output (`text`, `entities` with `type`, `start`, `end`).
 * Needs no configuration or database; nothing it reads is logged.
 */
import type { Command } from 'commander';
import { runRedactCli } from '../../pipeline/redact/index.ts';

export function registerRedactCommand(program: Command): void {
  program
    .command('redact')
    .description('redact PII from text lines on stdin; writes JSON lines {text, entities[{type,start,end}]} to stdout')
    .action(async () => {
      await runRedactCli(process.stdin, process.stdout);
    });
}
