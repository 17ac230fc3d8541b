/**
 * Keyset pagination for list queries (src/api/pagination.ts makes the opaque
 * cursor): the rows after (sort value, id) in ORDER BY (sort, id) ASC or DESC.
 * No OFFSET, so a page costs the same wherever it is in the list.
 */
import { sql, type AnyColumn, type SQL } from 'drizzle-orm';

/** A position in a list: the last row's sort value (ISO string for timestamps) and id. */
export interface Cursor { key: string | number; id: string | number }

export function afterCursor(cursor: Cursor | undefined, sortColumn: AnyColumn, idColumn: AnyColumn, direction: 'asc' | 'desc'): SQL | undefined {
  if (!cursor) return undefined;
  return direction === 'desc'
    ? sql`(${sortColumn}, ${idColumn}) < (${cursor.key}, ${cursor.id})`
    : sql`(${sortColumn}, ${idColumn}) > (${cursor.key}, ${cursor.id})`;
}
