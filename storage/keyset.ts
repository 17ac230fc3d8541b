/**
 * Keyset pagination for list queries (src/api/pagination.ts makes the opaque
 * cursor): the rows after (sort value, id) in the order (sort, id) ASC or DESC.
 * No OFFSET, so a page costs the same wherever it is in the list.
 *
 * Timestamps: Postgres keeps microseconds, a JavaScript Date (and so a cursor)
 * milliseconds. Comparing a cursor with the exact column would repeat or skip
 * rows within a millisecond, so both the order and the comparison use the
 * column truncated to milliseconds: always pair `afterCursor` with
 * `keysetOrder` on the same columns.
 */
import { asc, desc, sql, type AnyColumn, type SQL } from 'drizzle-orm';

/** A position in a list: the last row's sort value (ISO string for timestamps) and id. */
export interface Cursor { key: string | number; id: string | number }

function sortExpression(column: AnyColumn): SQL | AnyColumn {
  return column.columnType === 'PgTimestamp' || column.columnType === 'PgTimestampString'
    ? sql`date_trunc('milliseconds', ${column})` : column;
}

export function afterCursor(cursor: Cursor | undefined, sortColumn: AnyColumn, idColumn: AnyColumn, direction: 'asc' | 'desc'): SQL | undefined {
  if (!cursor) return undefined;
  const sort = sortExpression(sortColumn);
  return direction === 'desc'
    ? sql`(${sort}, ${idColumn}) < (${cursor.key}, ${cursor.id})`
    : sql`(${sort}, ${idColumn}) > (${cursor.key}, ${cursor.id})`;
}

/** The ORDER BY that matches afterCursor: `.orderBy(...keysetOrder(t.createdAt, t.id, 'desc'))`. */
export function keysetOrder(sortColumn: AnyColumn, idColumn: AnyColumn, direction: 'asc' | 'desc'): SQL[] {
  const by = direction === 'desc' ? desc : asc;
  return [by(sortExpression(sortColumn)), by(idColumn)];
}
