/**
 * Redaction throughput over the labelled corpus, for `smartalex bench`.
 * Runs a warm-up pass, then redacts the corpus repeatedly for at least
 * `minMs` and reports lines per second.
 */
import { generateCorpus } from './corpus.ts';
import { redact } from '../../pipeline/redact/redact.ts';

export interface RedactorBenchOptions {
  /** Corpus lines (default 800). */
  lines?: number;
  seed?: number;
  /** Measure for at least this long (default 500 ms). */
  minMs?: number;
}

export interface RedactorBenchResult {
  linesPerSecond: number;
  charsPerSecond: number;
  /** Mean time per line in microseconds. */
  microsPerLine: number;
  linesRedacted: number;
  elapsedMs: number;
}

export function benchRedactor(options: RedactorBenchOptions = {}): RedactorBenchResult {
  const corpus = generateCorpus({ lines: options.lines ?? 800, seed: options.seed ?? 20240611 }).map((l) => l.text);
  const minMs = options.minMs ?? 500;
  let sink = 0;
  for (const line of corpus) sink += redact(line).entities.length; // warm-up
  let lines = 0;
  let chars = 0;
  const started = performance.now();
  let elapsed = 0;
  do {
    for (const line of corpus) { sink += redact(line).entities.length; chars += line.length; }
    lines += corpus.length;
    elapsed = performance.now() - started;
  } while (elapsed < minMs);
  if (sink < 0) throw new Error('unreachable'); // keeps the work observable
  return {
    linesPerSecond: Math.round((lines * 1000) / elapsed),
    charsPerSecond: Math.round((chars * 1000) / elapsed),
    microsPerLine: (elapsed * 1000) / lines,
    linesRedacted: lines,
    elapsedMs: elapsed,
  };
}
