/**
 * Tenant and recording ids as the vault accepts them: 1-64 characters of
 * [A-Za-z0-9._-], not starting with a dot. They become file names, object keys
 * and fixed header fields, so anything that could climb a path ("..", "/",
 * "\", NUL) or not fit is refused up front.
 */
import { InvalidIdError } from './errors.ts';

export const MAX_ID_BYTES = 64;
const SAFE_ID = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,63}$/;

export function isSafeId(id: unknown): id is string {
  return typeof id === 'string' && SAFE_ID.test(id);
}

export function assertSafeId(kind: 'tenant id' | 'recording id' | 'key id', id: unknown): asserts id is string {
  if (!isSafeId(id)) {
    const shown = typeof id === 'string' ? JSON.stringify(id.slice(0, 80)) : typeof id;
    throw new InvalidIdError(`invalid ${kind} ${shown}: use 1-64 characters of A-Z a-z 0-9 . _ - not starting with "."`);
  }
}

/** Length-prefixed concatenation, so ("ab","c") and ("a","bc") never produce the same bytes. */
export function encodeParts(...parts: string[]): Buffer {
  const out: Buffer[] = [];
  for (const part of parts) {
    const bytes = Buffer.from(part, 'utf8');
    const len = Buffer.alloc(2);
    len.writeUInt16BE(bytes.length);
    out.push(len, bytes);
  }
  return Buffer.concat(out);
}
