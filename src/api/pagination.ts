/**
 * Cursor pagination for list routes. A page is `{ items, nextCursor }`;
 * `nextCursor` is null on the last page. The cursor is opaque to clients
 * (base64url of the last row's sort key and id); a malformed one is a 400.
 * Lists are keyset-paginated (no OFFSET): the repo orders by (sort column, id)
 * and asks for the rows after the cursor with `afterCursor` (storage/keyset.ts),
 * fetching limit + 1 rows; `pageOf` cuts the page and makes the next cursor.
 * Example: src/api/README.md.
 */
import type { Cursor } from '../../storage/index.ts';
import { z } from 'zod';
import { badRequest } from './problem.ts';

export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 200;

/** limit and cursor; extend it with the list's filters (it stays strict). */
export const pageQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(MAX_PAGE_SIZE).default(DEFAULT_PAGE_SIZE).describe(`Items per page (1-${MAX_PAGE_SIZE}, default ${DEFAULT_PAGE_SIZE})`),
  cursor: z.string().max(512).regex(/^[A-Za-z0-9_-]+$/).optional().describe('Opaque cursor from the previous page\'s nextCursor'),
});

/** The response schema of a page of `item`. */
export function pageSchema<T extends z.ZodType>(item: T) {
  return z.object({ items: z.array(item), nextCursor: z.string().nullable() });
}

type SortValue = Date | string | number;

export function encodeCursor(key: SortValue, id: string | number): string {
  const k = key instanceof Date ? { d: key.toISOString() } : { v: key };
  return Buffer.from(JSON.stringify({ ...k, i: id }), 'utf8').toString('base64url');
}

/** The cursor a client sent, or undefined for the first page; 400 when it is not one of ours. */
export type { Cursor };

export function decodeCursor(text: string | undefined): Cursor | undefined {
  if (text === undefined) return undefined;
  try {
    const parsed = JSON.parse(Buffer.from(text, 'base64url').toString('utf8')) as { d?: unknown; v?: unknown; i?: unknown };
    const id = parsed.i;
    if (typeof id !== 'string' && typeof id !== 'number') throw new Error('no id');
    if (typeof parsed.d === 'string' && !Number.isNaN(Date.parse(parsed.d))) return { key: parsed.d, id };
    if (typeof parsed.v === 'string' || typeof parsed.v === 'number') return { key: parsed.v, id };
  } catch { /* fall through */ }
  throw badRequest('The cursor is not valid for this list.', [{ path: 'query.cursor', message: 'invalid cursor' }]);
}

/** Cuts the `limit + 1` rows fetched to a page and makes the next cursor from the last row kept. */
export function pageOf<T>(rows: T[], limit: number, keyOf: (row: T) => [SortValue, string | number]): { items: T[]; nextCursor: string | null } {
  const items = rows.slice(0, limit);
  if (rows.length <= limit || items.length === 0) return { items, nextCursor: null };
  const [key, id] = keyOf(items[items.length - 1]!);
  return { items, nextCursor: encodeCursor(key, id) };
}
