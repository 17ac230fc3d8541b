/**
 * Transcript turns written in batches: a conversation's turns are queued per
 * call and written as one multi-row insert when the call ends (finishCall
 * takes them into its own transaction, so a call read as ended has its whole
 * transcript), or `flushAfterMs` after the oldest queued turn, so a crash
 * loses at most that much of a long call's transcript. One insert per turn was
 * the largest share of a call's statements (issue 17). Turns queued after
 * their call was finished are written at once.
 */
import type { Database, Tx } from '../database.ts';
import { withTenant } from '../tenant-scope.ts';
import { checkRedaction, insertTurns, type NewTranscriptTurn, type TranscriptTurnRow } from './transcripts.ts';

/** Default: a queued turn is written at most this long after it was queued. */
export const TRANSCRIPT_FLUSH_AFTER_MS = 15_000;

interface Queued { turn: NewTranscriptTurn; resolve: (row: TranscriptTurnRow) => void; reject: (error: unknown) => void }
interface CallQueue { tenantId: string; turns: Queued[]; timer: NodeJS.Timeout }

class TranscriptQueue {
  private readonly calls = new Map<string, CallQueue>();
  /** Calls finished recently (their late turns are written at once); bounded. */
  private readonly finished = new Set<string>();
  flushAfterMs = TRANSCRIPT_FLUSH_AFTER_MS;

  constructor(private readonly db: Database) {}

  queue(tenantId: string, turn: NewTranscriptTurn): Promise<TranscriptTurnRow> {
    return new Promise((resolve, reject) => {
      checkRedaction(turn.redacted); // a throw here rejects
      if (this.finished.has(turn.callId)) {
        void this.write(tenantId, [{ turn, resolve, reject }]);
        return;
      }
      let q = this.calls.get(turn.callId);
      if (!q) {
        const timer = setTimeout(() => void this.flush(turn.callId), this.flushAfterMs);
        timer.unref();
        q = { tenantId, turns: [], timer };
        this.calls.set(turn.callId, q);
      }
      q.turns.push({ turn, resolve, reject });
    });
  }

  /** Writes a call's queued turns now (resolves when they are stored, or failed). */
  async flush(callId: string): Promise<void> {
    const q = this.take(callId);
    if (q) await this.write(q.tenantId, q.turns);
  }

  /**
   * Runs `finish` (finishCall's transaction) with the call's queued turns inserted at the start of it, and marks
   * the call finished; the turns' promises settle with the transaction.
   */
  async finishWith(callId: string, finish: (insertQueued: (tx: Tx) => Promise<void>) => Promise<void>): Promise<void> {
    this.finished.add(callId);
    if (this.finished.size > 10_000) this.finished.delete(this.finished.values().next().value!);
    const q = this.take(callId);
    let rows: TranscriptTurnRow[] = [];
    try {
      await finish(async (tx) => {
        if (q) rows = await insertTurns(tx, q.tenantId, q.turns.map((t) => t.turn));
      });
    } catch (error) {
      q?.turns.forEach((t) => t.reject(error));
      throw error;
    }
    q?.turns.forEach((t, i) => t.resolve(rows[i]!));
  }

  /** Writes every queued turn (server shutdown). */
  async flushAll(): Promise<void> {
    await Promise.all([...this.calls.keys()].map((id) => this.flush(id)));
  }

  private take(callId: string): CallQueue | undefined {
    const q = this.calls.get(callId);
    if (!q) return undefined;
    clearTimeout(q.timer);
    this.calls.delete(callId);
    return q;
  }

  private async write(tenantId: string, turns: Queued[]): Promise<void> {
    try {
      const rows = await withTenant(this.db, tenantId, (tx) => insertTurns(tx, tenantId, turns.map((t) => t.turn)));
      turns.forEach((t, i) => t.resolve(rows[i]!));
    } catch (error) {
      turns.forEach((t) => t.reject(error));
    }
  }
}

const queues = new WeakMap<Database, TranscriptQueue>();

/** The database's transcript queue (one per opened database). */
export function transcriptQueue(db: Database): TranscriptQueue {
  let q = queues.get(db);
  if (!q) {
    q = new TranscriptQueue(db);
    queues.set(db, q);
  }
  return q;
}

/** Queues one redacted turn; resolves with its row once written (see the header). */
export function queueTranscriptTurn(db: Database, tenantId: string, turn: NewTranscriptTurn): Promise<TranscriptTurnRow> {
  return transcriptQueue(db).queue(tenantId, turn);
}
