/**
 * What the resource routes share: the actor a service records, the mapping of
 * the services' refusals to problem documents (ResourceError, a bad cursor, a
 * bad phone number, a bad calling policy), and the page shape. Another
 * tenant's id is a `not-found` like any missing one: RLS hides the row.
 */
import { z } from 'zod';
import { InvalidCursorError, type Page } from '../../../storage/index.ts';
import type { ObjectStore } from '../../../storage/vault/index.ts';
import { CallingPolicyError, InvalidPhoneError } from '../../compliance/index.ts';
import { ResourceError, type Actor } from '../../resources/errors.ts';
import type { ApiContext } from '../context.ts';
import { ApiProblem, badRequest, conflict, notFound } from '../problem.ts';

export function who(ctx: ApiContext): Actor {
  return { actor: ctx.actor, sourceIp: ctx.sourceIp };
}

/** Runs a service call, turning its refusals into problem documents. */
export async function served<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw asProblem(error) ?? error;
  }
}

export function asProblem(error: unknown): ApiProblem | undefined {
  if (error instanceof ResourceError) {
    if (error.kind === 'not-found') return notFound();
    if (error.kind === 'conflict') return conflict(error.message);
    return badRequest(error.message, [{ path: `body.${error.field ?? ''}`.replace(/\.$/, ''), message: error.message }]);
  }
  if (error instanceof InvalidCursorError) return badRequest('The cursor is not valid for this list.', [{ path: 'query.cursor', message: 'invalid cursor' }]);
  if (error instanceof InvalidPhoneError) return badRequest(error.message, [{ path: 'body.phone', message: 'not a phone number' }]);
  if (error instanceof CallingPolicyError) return badRequest(error.message);
  return undefined;
}

/** The API's page: `{ items, nextCursor }` from a repository page. */
export function apiPage<T, U>(page: Page<T>, view: (row: T) => U): { items: U[]; nextCursor: string | null } {
  return { items: page.items.map(view), nextCursor: page.next };
}

/** A change request must change something: an empty body is a 400, not an audited no-op. */
export function nonEmpty(body: object): void {
  if (Object.values(body).every((v) => v === undefined)) throw badRequest('Give at least one field to change.', [{ path: 'body', message: 'empty' }]);
}

export const iso = (date: Date | null): string | null => (date ? date.toISOString() : null);

/** Where recordings live, for deletions that take their objects; 503 when the server has no vault. */
export function objectStore(ctx: ApiContext): ObjectStore {
  const store = ctx.deps.services.recordingStore;
  if (!store) throw new ApiProblem(503, 'unavailable', 'Service unavailable', { detail: 'Recording storage is not configured on this server.' });
  return store;
}

export const idParam = <K extends string>(name: K) => z.strictObject({ [name]: z.uuid() } as Record<K, z.ZodUUID>);

/** A time-range bound in a query: ISO 8601 with an offset. */
export const instant = z.iso.datetime({ offset: true });
