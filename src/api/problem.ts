/**
 * Errors as application/problem+json (RFC 9457). A handler throws an
 * ApiProblem (or one of the helpers); the control plane's error handler turns
 * it, validation errors, oversized bodies and anything unexpected into a
 * problem document. Unexpected errors become a bare 500: no message, no stack,
 * nothing from the database (which may quote row values) reaches the client.
 */
import { z } from 'zod';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';
const TYPE_BASE = 'https://smartalex.dev/problems/';

export interface FieldError { path: string; message: string }

export interface ProblemDocument {
  type: string;
  title: string;
  status: number;
  detail?: string;
  /** Validation failures: which field (dotted path, e.g. "body.email") and what is wrong. */
  errors?: FieldError[];
  /** A machine-readable reason for some 401/403s, e.g. "mfa_required". */
  code?: string;
}

/** The schema every error response uses (documented on every route). */
export const problemSchema = z.object({
  type: z.string(),
  title: z.string(),
  status: z.number().int(),
  detail: z.string().optional(),
  errors: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
  code: z.string().optional(),
}).meta({ id: 'Problem', description: 'RFC 9457 problem document' });

export class ApiProblem extends Error {
  override name = 'ApiProblem';
  readonly status: number;
  readonly slug: string;
  readonly title: string;
  readonly detail: string | undefined;
  readonly errors: FieldError[] | undefined;
  readonly code: string | undefined;
  /** Extra response headers (e.g. Retry-After, WWW-Authenticate). */
  readonly headers: Record<string, string>;

  constructor(status: number, slug: string, title: string, options: { detail?: string; errors?: FieldError[]; code?: string; headers?: Record<string, string> } = {}) {
    super(title);
    this.status = status;
    this.slug = slug;
    this.title = title;
    this.detail = options.detail;
    this.errors = options.errors;
    this.code = options.code;
    this.headers = options.headers ?? {};
  }

  toDocument(): ProblemDocument {
    return {
      type: `${TYPE_BASE}${this.slug}`, title: this.title, status: this.status,
      ...(this.detail !== undefined ? { detail: this.detail } : {}),
      ...(this.errors ? { errors: this.errors } : {}),
      ...(this.code ? { code: this.code } : {}),
    };
  }
}

export const badRequest = (detail: string, errors?: FieldError[]): ApiProblem =>
  new ApiProblem(400, 'validation', 'Invalid request', { detail, ...(errors ? { errors } : {}) });
export const unauthorized = (detail = 'A valid credential is required.', code?: string): ApiProblem =>
  new ApiProblem(401, 'unauthorized', 'Unauthorized', { detail, ...(code ? { code } : {}), headers: { 'www-authenticate': 'Bearer' } });
export const forbidden = (detail = 'Your role does not allow this.', code?: string): ApiProblem =>
  new ApiProblem(403, 'forbidden', 'Forbidden', { detail, ...(code ? { code } : {}) });
/** Also the answer for another tenant's ids: never 403, so ids cannot be probed. */
export const notFound = (detail = 'No such resource.'): ApiProblem => new ApiProblem(404, 'not-found', 'Not found', { detail });
export const conflict = (detail: string): ApiProblem => new ApiProblem(409, 'conflict', 'Conflict', { detail });
export const tooManyRequests = (retryAfterSeconds: number): ApiProblem =>
  new ApiProblem(429, 'too-many-requests', 'Too many requests', { detail: 'Too many attempts; try again later.', headers: { 'retry-after': String(Math.max(1, Math.ceil(retryAfterSeconds))) } });
export const internalError = (): ApiProblem => new ApiProblem(500, 'internal', 'Internal error');
