/**
 * Transcript turns at rest: only the redacted text and the entity types and
 * offsets are stored; raw transcript text never reaches this module's SQL.
 * `addTranscriptTurn` takes a redaction result (pipeline/redact) and checks
 * that every entity offset points at its tag, so a caller cannot hand it raw
 * text dressed up with made-up entities by mistake.
 */
import { asc, eq } from 'drizzle-orm';
import type { Database, Tx } from '../database.ts';
import { transcriptTurns } from '../schema.ts';
import { withTenant } from '../tenant-scope.ts';

export interface RedactedTurnText {
  text: string;
  entities: { type: string; start: number; end: number }[];
}

export interface NewTranscriptTurn {
  callId: string;
  seq: number;
  speaker: 'caller' | 'agent';
  redacted: RedactedTurnText;
  /** Per-turn latency numbers (DESIGN.md vocabulary); never content. */
  latency?: Record<string, number> | null;
}

export type TranscriptTurnRow = typeof transcriptTurns.$inferSelect;

export class TranscriptTurnError extends Error {
  override name = 'TranscriptTurnError';
}

export function checkRedaction(redacted: RedactedTurnText): void {
  for (const e of redacted.entities) {
    if (!/^[A-Z_]{2,20}$/.test(e.type)) throw new TranscriptTurnError('transcript entity has an invalid type');
    if (redacted.text.slice(e.start, e.end) !== `[${e.type}]`) {
      throw new TranscriptTurnError('transcript entity offsets do not point at their tags (was the text redacted?)');
    }
  }
}

export async function addTranscriptTurn(db: Database, tenantId: string, turn: NewTranscriptTurn): Promise<TranscriptTurnRow> {
  checkRedaction(turn.redacted);
  return withTenant(db, tenantId, async (tx) => (await insertTurns(tx, tenantId, [turn]))[0]!);
}

/** Inserts turns (already checked) in one statement; rows in the order given. */
export async function insertTurns(tx: Tx, tenantId: string, turns: NewTranscriptTurn[]): Promise<TranscriptTurnRow[]> {
  if (turns.length === 0) return [];
  const rows = await tx.insert(transcriptTurns).values(turns.map((turn) => ({
    tenantId,
    callId: turn.callId,
    seq: turn.seq,
    speaker: turn.speaker,
    redactedText: turn.redacted.text,
    entities: turn.redacted.entities.map((e) => ({ type: e.type, start: e.start, end: e.end })),
    latency: turn.latency ?? null,
  }))).returning();
  // Ids follow the values' order; sort to be sure of it.
  return rows.sort((a, b) => a.id - b.id);
}

export async function listTranscript(db: Database, tenantId: string, callId: string): Promise<TranscriptTurnRow[]> {
  return withTenant(db, tenantId, (tx) => tx.select().from(transcriptTurns)
    .where(eq(transcriptTurns.callId, callId)).orderBy(asc(transcriptTurns.seq), asc(transcriptTurns.id)));
}
