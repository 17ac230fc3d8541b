/**
 * Keyset (cursor) pagination for the tenant lists. A page is ordered by a sort
 * key and the row id as a tie-break; the cursor names the last row returned,
 * so a row inserted or deleted between two requests can neither be skipped
 * nor shown twice (an OFFSET would do both). Timestamps travel in the cursor
 * as whole microseconds since the epoch, read and compared by Postgres: a
 * JavaScript Date keeps milliseconds only, and a cursor that lost the last
 * three digits would skip rows stamped within the same millisecond.
 *
 * The cursor is opaque to clients (base64url of a small JSON array); a
 * malformed one is an InvalidCursorError, which the API answers with a 400.
 */
import { sql, type AnyColumn, type SQL } from 'drizzle-orm';

export interface PageRequest {
  /** At most this many rows (the caller bounds it). */
  limit: number;
  /** The `next` of the previous page; omitted: the first page. */
  cursor?: string | undefined;
}

export interface Page<T> {
  items: T[];
  /** Pass as `cursor` for the following page; null on the last page. */
  next: string | null;
}

export class InvalidCursorError extends Error {
  override name = 'InvalidCursorError';
  constructor() { super('the cursor is not one this list handed out'); }
}

type Key = string | number;

/** [sort key, id]; the sort key is a number (bigserial ids), or text (names, microsecond timestamps as digits). */
export function encodeCursor(key: Key, id: Key): string {
  return Buffer.from(JSON.stringify([key, id])).toString('base64url');
}

export function decodeCursor(cursor: string, kinds: { key: 'text' | 'micros' | 'int'; id: 'uuid' | 'int' }): [Key, Key] {
  let parsed: unknown;
  try {
    if (!/^[A-Za-z0-9_-]{1,400}$/.test(cursor)) throw new InvalidCursorError();
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw new InvalidCursorError();
  }
  if (!Array.isArray(parsed) || parsed.length !== 2) throw new InvalidCursorError();
  const [key, id] = parsed as unknown[];
  const okKey = kinds.key === 'text' ? typeof key === 'string' && key.length <= 200
    : kinds.key === 'micros' ? typeof key === 'string' && /^\d{1,17}$/.test(key)
      : Number.isSafeInteger(key);
  const okId = kinds.id === 'uuid'
    ? typeof id === 'string' && /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(id)
    : Number.isSafeInteger(id);
  if (!okKey || !okId) throw new InvalidCursorError();
  return [key as Key, id as Key];
}

/** A timestamp column as whole microseconds since the epoch, as text (exact; the cursor's form). */
export function micros(column: AnyColumn): SQL<string> {
  return sql<string>`floor(extract(epoch from ${column}) * 1000000)::bigint::text`;
}

/** Rows after the cursor in `(timestamp, uuid)` order, descending or ascending; undefined without a cursor. */
export function afterTimestamp(column: AnyColumn, idColumn: AnyColumn, cursor: string | undefined, order: 'asc' | 'desc'): SQL | undefined {
  if (cursor === undefined) return undefined;
  const [us, id] = decodeCursor(cursor, { key: 'micros', id: 'uuid' });
  const at = sql`(timestamptz 'epoch' + ${String(us)}::bigint * interval '1 microsecond')`;
  return order === 'desc' ? sql`(${column}, ${idColumn}) < (${at}, ${String(id)}::uuid)` : sql`(${column}, ${idColumn}) > (${at}, ${String(id)}::uuid)`;
}

/** Trims the one extra row fetched to learn whether another page exists, and makes its cursor. */
export function pageOf<T>(rows: T[], limit: number, cursorOf: (row: T) => string): Page<T> {
  if (rows.length <= limit) return { items: rows, next: null };
  const items = rows.slice(0, limit);
  return { items, next: cursorOf(items[items.length - 1]!) };
}
