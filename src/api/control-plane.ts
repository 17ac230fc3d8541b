/**
 * Mounts the control-plane API under /v1 on the HTTP server: zod validation
 * and serialisation, the OpenAPI 3.1 document from the same schemas at
 * /v1/openapi.json, problem+json errors, authentication from the Bearer
 * credential and the permission check, for every route in `routes`.
 *
 * A route reaches /v1 only through registerRoutes: an onRoute guard refuses any
 * route under /v1 without a declared permission, so a route added around it
 * fails at start-up, not in production.
 */
import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import type { FastifyInstance, FastifyReply, FastifyRequest, onRequestHookHandler } from 'fastify';
import { jsonSchemaTransform, jsonSchemaTransformObject, serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { authenticate, bearerOf } from './auth/authenticate.ts';
import { cookieOf, CSRF_HEADER, csrfSatisfied, SESSION_COOKIE } from './auth/cookie-session.ts';
import { verifyAgainstDummy } from './auth/passwords.ts';
import { buildContext, type ApiContext, type RequestFacts } from './context.ts';
import type { ControlPlaneDeps } from './deps.ts';
import { problemErrorHandler, problemNotFoundHandler } from './errors.ts';
import { openApiWebhooks } from './openapi-webhooks.ts';
import { allows, isRoutePermission, type RoutePermission } from './permissions.ts';
import { ApiProblem, badRequest, forbidden, problemSchema, tooManyRequests, unauthorized } from './problem.ts';
import { pathParams, routeDefect, type ApiRoute } from './route.ts';
import { ALL_ROUTES } from './routes/index.ts';

export const API_PREFIX = '/v1';
/** Default body limit for /v1 requests; a route may lower or raise it. */
export const API_BODY_LIMIT = 64 * 1024;

declare module 'fastify' {
  interface FastifyContextConfig { permission?: RoutePermission; allowDuringMfaEnrolment?: boolean }
  interface FastifyRequest { apiContext: ApiContext | null; apiFacts: RequestFacts | null }
}

const ERROR_STATUSES = [400, 401, 403, 404, 409, 413, 415, 429] as const;

export class RouteRegistrationError extends Error {
  override name = 'RouteRegistrationError';
}

export function requestFacts(deps: ControlPlaneDeps, request: FastifyRequest): RequestFacts {
  const ua = request.headers['user-agent'];
  return { db: deps.db, deps, now: deps.clock, sourceIp: request.socket.remoteAddress ?? request.ip, userAgent: typeof ua === 'string' ? ua.slice(0, 512) : '' };
}

/** Registers the /v1 API; call before listen(). `routes` defaults to every route of the product. */
export async function registerControlPlane(app: FastifyInstance, deps: ControlPlaneDeps, routes: readonly ApiRoute[] = ALL_ROUTES): Promise<void> {
  for (const route of routes) {
    const defect = routeDefect(route);
    if (defect) throw new RouteRegistrationError(defect);
  }
  // The dummy Argon2id hash an unknown address is checked against exists before the first login (equal timing from the start).
  void verifyAgainstDummy('');
  if (!app.hasRequestDecorator('apiContext')) {
    app.decorateRequest('apiContext', null);
    app.decorateRequest('apiFacts', null);
  }
  await app.register(async (v1) => {
    v1.setValidatorCompiler(validatorCompiler);
    v1.setSerializerCompiler(serializerCompiler);
    v1.setErrorHandler(problemErrorHandler(deps.logger));
    v1.setNotFoundHandler(problemNotFoundHandler);
    // A text/csv body arrives as { csv: "<text>" }: a route that takes CSV declares that field in its body schema
    // (and so also takes JSON {csv}); any other route refuses it as an unknown field. The route's bodyLimit applies.
    v1.addContentTypeParser('text/csv', { parseAs: 'string' }, (_request, body, done) => done(null, { csv: body }));
    // Per-route limits only (ApiRoute.rateLimit), counted per source address in deps.rateLimitStore.
    await v1.register(rateLimit, {
      global: false,
      ...(deps.rateLimitStore ? { store: deps.rateLimitStore } : {}),
      errorResponseBuilder: (_request, context) => tooManyRequests(context.ttl / 1000),
    });
    v1.addHook('onRoute', (options) => {
      const permission = options.config?.permission;
      if (!isRoutePermission(permission)) throw new RouteRegistrationError(`${String(options.method)} ${options.url} declares no permission: register /v1 routes with defineRoute`);
      if (!options.schema?.response) throw new RouteRegistrationError(`${String(options.method)} ${options.url} has no response schema`);
    });
    await v1.register(swagger, {
      openapi: {
        openapi: '3.1.0',
        info: { title: 'SmartAlex Media control plane', version: '1.0.0', description: 'Tenant-scoped API. Authenticate with `Authorization: Bearer <API key or session token>`. Errors are application/problem+json (RFC 9457).' },
        components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'An API key (sak_...) or a session token from POST /v1/auth/login' } } },
        // The event catalogue: what a webhook endpoint receives (payload JSON Schemas).
        webhooks: openApiWebhooks(),
      } as never,
      transform: jsonSchemaTransform,
      transformObject: jsonSchemaTransformObject,
    });
    for (const route of routes) addRoute(v1, deps, route);
    v1.route({
      method: 'GET', url: '/openapi.json', config: { permission: 'public' },
      schema: { hide: true, response: { 200: z.unknown() } } as never,
      handler: async () => v1.swagger(),
    });
  }, { prefix: API_PREFIX });
}

function addRoute(v1: FastifyInstance, deps: ControlPlaneDeps, route: ApiRoute): void {
  const status = route.status ?? 200;
  const response: Record<number, z.ZodType> = { [status]: route.response };
  for (const code of ERROR_STATUSES) response[code] = problemSchema;
  const schema = {
    summary: route.summary,
    tags: [route.tag],
    ...(route.permission === 'public' ? {} : { security: [{ bearer: [] }] }),
    description: route.permission === 'public' ? 'No credential needed.' : `Permission: \`${route.permission}\``,
    ...(route.params ? { params: route.params } : {}),
    ...(route.query ? { querystring: route.query } : {}),
    // Fastify validates an absent body as null: an optional body schema ("may be absent") accepts that too.
    ...(route.body ? { body: route.body instanceof z.ZodOptional ? (route.body.unwrap() as z.ZodType).nullable().optional() : route.body } : {}),
    response,
  };
  v1.route({
    method: route.method,
    url: route.url,
    bodyLimit: route.bodyLimit ?? API_BODY_LIMIT,
    config: { permission: route.permission, allowDuringMfaEnrolment: 'allowDuringMfaEnrolment' in route && route.allowDuringMfaEnrolment === true },
    schema,
    onRequest: [
      // The limit comes before the credential check: guessing is counted whatever it presents.
      ...(route.rateLimit ? [limiter(v1, route)] : []),
      async (request: FastifyRequest) => {
        const facts = requestFacts(deps, request);
        request.apiFacts = facts;
        if (route.permission === 'public') return;
        request.apiContext = await authorise(facts, request, route);
      },
    ],
    // A route that declares no body takes none: a body sent anyway is a 400, not silently ignored.
    ...(route.body ? {} : { preValidation: async (request: FastifyRequest) => { if (request.body !== undefined && request.body !== null) throw badRequest('This route takes no request body.', [{ path: 'body', message: 'unexpected body' }]); } }),
    handler: async (request: FastifyRequest, reply: FastifyReply) => {
      const input = { params: request.params, query: request.query, body: request.body, request, reply };
      const result = route.permission === 'public'
        ? await route.handler({ ...input, facts: request.apiFacts! } as never)
        : await route.handler({ ...input, ctx: request.apiContext! } as never);
      reply.code(status);
      return status === 204 ? reply.send() : result;
    },
  });
}

/** The rate limiter of one route: its own counter per source address ("<METHOD> <url>|<address>"). */
function limiter(v1: FastifyInstance, route: ApiRoute): onRequestHookHandler {
  const { max, windowMs } = route.rateLimit!;
  return v1.rateLimit({ max, timeWindow: windowMs, keyGenerator: (request) => `${route.method} ${route.url}|${request.socket.remoteAddress ?? request.ip}` });
}

async function authorise(facts: RequestFacts, request: FastifyRequest, route: ApiRoute): Promise<ApiContext> {
  const action = (route as { auditRefusalAs?: string }).auditRefusalAs;
  const first = pathParams(route.url)[0];
  const target = first ? String((request.params as Record<string, unknown>)[first] ?? '').slice(0, 64) : undefined;
  return authoriseRequest(facts, request, route.permission as RoutePermission, (route as { allowDuringMfaEnrolment?: boolean }).allowDuringMfaEnrolment === true,
    action ? { action, ...(target ? { target } : {}) } : undefined);
}

/**
 * Who is calling and may they: the Bearer credential, else the console's
 * session cookie (a write through the cookie also needs its CSRF token, see
 * auth/cookie-session.ts), then the 2FA-enrolment gate and the permission.
 * Routes outside /v1 that act for a principal (the console's live feed)
 * authorise through this too. A request that proves no tenant is recorded in
 * the server's coalesced security log (never a tenant's audit log); a role
 * refusal is audited in the caller's tenant when `refusalAudit` names the action.
 */
export async function authoriseRequest(
  facts: RequestFacts, request: FastifyRequest, permission: RoutePermission, allowDuringMfaEnrolment = false,
  refusalAudit?: { action: string; target?: string },
): Promise<ApiContext> {
  const refuse = (problem: ApiProblem): ApiProblem => {
    facts.deps.securityLog?.record({ type: 'api.unauthenticated', source: facts.sourceIp });
    return problem;
  };
  const bearer = bearerOf(request);
  const cookie = bearer === undefined ? cookieOf(request, SESSION_COOKIE) : undefined;
  const credential = bearer ?? cookie;
  if (!credential) throw refuse(unauthorized());
  // The cookie carries session tokens only: an API key never lives in a browser.
  const principal = cookie !== undefined && cookie.startsWith('sak_') ? undefined : await authenticate(facts, credential);
  if (!principal) throw refuse(unauthorized('The credential is unknown, expired or revoked.'));
  if (cookie !== undefined && principal.kind === 'user' && !csrfSatisfied(request, facts.deps.sessionSecret, principal.sessionId)) {
    throw forbidden(`A write with the session cookie needs the ${CSRF_HEADER} header.`, 'csrf_token_invalid');
  }
  if (principal.kind === 'user' && principal.mfaPending && !allowDuringMfaEnrolment) {
    throw forbidden('Your tenant requires two-factor authentication for your role: enrol at POST /v1/me/totp first.', 'mfa_enrolment_required');
  }
  const context = buildContext(facts, principal);
  if (!allows(principal.role, permission)) {
    if (refusalAudit) {
      await context.audit({ action: refusalAudit.action, ...(refusalAudit.target ? { target: refusalAudit.target } : {}), detail: { reason: 'role', role: principal.role } });
    }
    throw forbidden();
  }
  return context;
}

export { ApiProblem };
