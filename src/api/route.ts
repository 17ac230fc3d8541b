/**
 * How a /v1 route is declared. One `defineRoute({...})` per route: method, url
 * (relative to /v1), a permission, zod schemas for params / query / body and
 * the success response, and a handler that receives the parsed input and the
 * ApiContext. registerRoutes (src/api/control-plane.ts) refuses a route
 * without a known permission, without a response schema, or whose body /
 * query / params schema is not a strict object (unknown fields must be a 400).
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { ApiContext, RequestFacts } from './context.ts';
import { isRoutePermission, type Permission } from './permissions.ts';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'OPTIONS';

/** A strict object schema (z.strictObject): unknown keys are rejected. */
export type StrictObject = z.ZodObject<z.ZodRawShape, z.core.$strict>;

type Out<S> = S extends z.ZodType ? z.output<S> : undefined;

interface RouteBase<P, Q, B, R extends z.ZodType> {
  method: HttpMethod;
  /** Relative to /v1, fastify syntax: '/agents/:agentId'. */
  url: string;
  /** One line for the OpenAPI document. */
  summary: string;
  /** OpenAPI tag (grouping), e.g. 'agents'. */
  tag: string;
  params?: P;
  query?: Q;
  body?: B;
  /** The success response body. Use z.null() with status 204 for "no content". */
  response: R;
  /** Success status; default 200 (201 for a creation, 204 for no content). */
  status?: 200 | 201 | 202 | 204;
  /** Extra per-route body limit in bytes (default: the server's 64 KiB for /v1). */
  bodyLimit?: number;
  /**
   * Requests per source address and window on this route (429 beyond), counted before the credential is
   * checked, in the control plane's rate-limit store (ControlPlaneDeps.rateLimitStore: Postgres on a server,
   * so the limit holds across the cluster).
   */
  rateLimit?: { max: number; windowMs: number };
}

export interface AuthedInput<P, Q, B> {
  params: Out<P>;
  query: Out<Q>;
  body: Out<B>;
  ctx: ApiContext;
  request: FastifyRequest;
  reply: FastifyReply;
}

export interface PublicInput<P, Q, B> {
  params: Out<P>;
  query: Out<Q>;
  body: Out<B>;
  facts: RequestFacts;
  request: FastifyRequest;
  reply: FastifyReply;
}

export interface AuthedRouteSpec<P, Q, B, R extends z.ZodType> extends RouteBase<P, Q, B, R> {
  /** A Permission from the matrix (src/api/permissions.ts), or 'self' for any authenticated principal. */
  permission: Permission | 'self';
  /** True for the few routes a user may use before completing mandatory 2FA enrolment. */
  allowDuringMfaEnrolment?: boolean;
  /**
   * Audit a role refusal (403) in the caller's tenant under this action, target = the first path parameter,
   * for routes whose refusals the tenant must see (recording access). Other routes refuse silently.
   */
  auditRefusalAs?: string;
  handler(input: AuthedInput<P, Q, B>): Promise<z.input<R>>;
}

export interface PublicRouteSpec<P, Q, B, R extends z.ZodType> extends RouteBase<P, Q, B, R> {
  permission: 'public';
  handler(input: PublicInput<P, Q, B>): Promise<z.input<R>>;
}

/** A declared route, types erased (what the registry holds). */
export type ApiRoute = (AuthedRouteSpec<unknown, unknown, unknown, z.ZodType> | PublicRouteSpec<unknown, unknown, unknown, z.ZodType>) & { readonly __route: true };

export function defineRoute<
  R extends z.ZodType,
  P extends StrictObject | undefined = undefined,
  Q extends StrictObject | undefined = undefined,
  B extends z.ZodType | undefined = undefined,
>(spec: AuthedRouteSpec<P, Q, B, R> | PublicRouteSpec<P, Q, B, R>): ApiRoute {
  return { ...spec, __route: true } as unknown as ApiRoute;
}

/** True when `schema` is an object schema that rejects unknown keys. */
export function isStrictObject(schema: unknown): boolean {
  if (schema instanceof z.ZodOptional) return isStrictObject(schema.unwrap());
  if (!(schema instanceof z.ZodObject)) return false;
  const catchall = schema.def.catchall;
  return catchall instanceof z.ZodNever;
}

/** Path parameter names in a fastify url ('/agents/:agentId' -> ['agentId']). */
export function pathParams(url: string): string[] {
  return [...url.matchAll(/:([A-Za-z0-9_]+)/g)].map((m) => m[1]!);
}

/** Why `route` cannot be registered, or undefined when it is well-formed. */
export function routeDefect(route: ApiRoute): string | undefined {
  const name = `${route.method} /v1${route.url}`;
  const { permission } = route as { permission: unknown };
  if (permission === undefined) return `${name} declares no permission`;
  if (!isRoutePermission(permission)) return `${name} declares an unknown permission ${JSON.stringify(permission)}`;
  if (!(route.response instanceof z.ZodType)) return `${name} has no response schema`;
  if (!route.summary || !route.tag) return `${name} has no summary or tag`;
  const params = pathParams(route.url);
  if (params.length > 0 && !route.params) return `${name} has path parameters but no params schema`;
  for (const [part, schema] of [['params', route.params], ['query', route.query]] as const) {
    if (schema !== undefined && !isStrictObject(schema)) return `${name}: ${part} schema must be z.strictObject (unknown fields are rejected)`;
  }
  if (route.params && isStrictObject(route.params)) {
    const declared = Object.keys((route.params as z.ZodObject).shape).sort();
    if (declared.join() !== [...params].sort().join()) return `${name}: params schema keys (${declared.join()}) differ from the path's (${params.join()})`;
  }
  if (['POST', 'PUT', 'PATCH'].includes(route.method)) {
    if (!route.body) return `${name} takes a body but declares no body schema`;
  }
  if (route.body !== undefined && !isStrictObject(route.body)) return `${name}: body schema must be z.strictObject (unknown fields are rejected)`;
  return undefined;
}
