/**
 * Scores the redactor against a labelled corpus, per entity type.
 * Matching is by span overlap: a gold span is found (recall) when a predicted
 * span of the same type overlaps it; a predicted span is right (precision)
 * when it overlaps a gold span of its type. `covered` is stricter: the share
 * of gold spans whose every letter and digit lies under some predicted span
 * (of any type), i.e. nothing of it leaks into the redacted text.
 */
import type { LabelledLine } from './corpus.ts';
import { findPii } from '../../pipeline/redact/detect.ts';
import { ENTITY_TYPES, type EntityType, type PiiSpan } from '../../pipeline/redact/types.ts';

export interface TypeScore {
  type: EntityType;
  gold: number;
  predicted: number;
  /** Gold spans overlapped by a same-type prediction. */
  found: number;
  /** Predictions overlapping a same-type gold span. */
  correct: number;
  /** Gold spans with no letter or digit left unredacted. */
  covered: number;
  recall: number;
  precision: number;
}

export interface EvaluationReport {
  lines: number;
  byType: TypeScore[];
  /** Lines labelled with no entity that still had something redacted. */
  distractorLinesTouched: number;
  distractorLines: number;
}

const overlaps = (a: PiiSpan, b: PiiSpan): boolean => a.start < b.end && b.start < a.end;

function fullyCovered(text: string, gold: PiiSpan, predicted: readonly PiiSpan[]): boolean {
  for (let i = gold.start; i < gold.end; i++) {
    if (!/[A-Za-z0-9]/.test(text[i]!)) continue;
    if (!predicted.some((p) => p.start <= i && i < p.end)) return false;
  }
  return true;
}

export function evaluate(corpus: readonly LabelledLine[], detect: (text: string) => PiiSpan[] = findPii): EvaluationReport {
  const scores = new Map<EntityType, TypeScore>(ENTITY_TYPES.map((type) => [type, { type, gold: 0, predicted: 0, found: 0, correct: 0, covered: 0, recall: 1, precision: 1 }]));
  let distractorLines = 0;
  let distractorLinesTouched = 0;
  for (const line of corpus) {
    const predicted = detect(line.text);
    if (line.entities.length === 0) {
      distractorLines++;
      if (predicted.length > 0) distractorLinesTouched++;
    }
    for (const g of line.entities) {
      const s = scores.get(g.type)!;
      s.gold++;
      if (predicted.some((p) => p.type === g.type && overlaps(p, g))) s.found++;
      if (fullyCovered(line.text, g, predicted)) s.covered++;
    }
    for (const p of predicted) {
      const s = scores.get(p.type)!;
      s.predicted++;
      if (line.entities.some((g) => g.type === p.type && overlaps(p, g))) s.correct++;
    }
  }
  const byType = [...scores.values()].map((s) => ({
    ...s,
    recall: s.gold === 0 ? 1 : s.found / s.gold,
    precision: s.predicted === 0 ? 1 : s.correct / s.predicted,
  }));
  return { lines: corpus.length, byType, distractorLines, distractorLinesTouched };
}

/** A fixed-width table of the report, for test output and the CLI. */
export function formatReport(report: EvaluationReport): string {
  const pct = (x: number): string => `${(x * 100).toFixed(1)}%`.padStart(7);
  const rows = [`type          gold  pred  recall  precision  covered`];
  for (const s of report.byType) {
    rows.push(`${s.type.padEnd(12)} ${String(s.gold).padStart(5)} ${String(s.predicted).padStart(5)} ${pct(s.recall)}    ${pct(s.precision)}  ${pct(s.gold === 0 ? 1 : s.covered / s.gold)}`);
  }
  rows.push(`lines ${report.lines}; distractor lines ${report.distractorLines}, of which touched ${report.distractorLinesTouched}`);
  return rows.join('\n');
}
