/// <reference lib="dom" />
/**
 * The console's one way to the API: same-origin fetch with the session
 * cookie, the CSRF token (read from the sa_csrf cookie) on every write, and
 * problem documents (RFC 9457) turned into ApiError.
 */

export interface Problem { title: string; status: number; detail?: string; code?: string; errors?: { path: string; message: string }[] }

export class ApiError extends Error {
  constructor(readonly status: number, readonly problem: Problem) {
    super(problem.detail ?? problem.title);
  }
}

export interface Page<T> { items: T[]; nextCursor: string | null }

function csrfToken(): string {
  const match = /(?:^|;\s*)sa_csrf=([^;]+)/.exec(document.cookie);
  return match?.[1] ?? '';
}

export async function api<T>(method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE', path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (method !== 'GET') headers['x-csrf-token'] = csrfToken();
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(path, { method, headers, credentials: 'same-origin', ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  const parsed = text ? (JSON.parse(text) as unknown) : undefined;
  if (!res.ok) {
    const problem = (parsed ?? { title: res.statusText, status: res.status }) as Problem;
    throw new ApiError(res.status, problem);
  }
  return parsed as T;
}

/** A readable one-line message for an error (never the raw stack). */
export function messageOf(error: unknown): string {
  if (error instanceof ApiError) {
    const fields = error.problem.errors?.map((e) => `${e.path.replace(/^body\./, '')}: ${e.message}`).join('; ');
    return fields ? `${error.message} (${fields})` : error.message;
  }
  return 'The request failed.';
}
