/**
 * The /v1 error handler: every failure leaves as application/problem+json.
 * Validation errors name the fields (body.email, query.limit) and never echo
 * the values sent; unexpected errors are logged by name and code (never the
 * database's detail, which may quote row values) and answered with a bare 500.
 */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import type { Logger } from '../log.ts';
import { ApiProblem, badRequest, internalError, notFound, PROBLEM_CONTENT_TYPE, type FieldError } from './problem.ts';

const PART: Record<string, string> = { body: 'body', querystring: 'query', params: 'path', headers: 'headers' };

export function sendProblem(reply: FastifyReply, problem: ApiProblem): FastifyReply {
  for (const [name, value] of Object.entries(problem.headers)) reply.header(name, value);
  return reply.code(problem.status).type(PROBLEM_CONTENT_TYPE).send(problem.toDocument());
}

/** Maps any error thrown while handling a /v1 request to a problem document. */
export function toProblem(error: unknown): ApiProblem | undefined {
  if (error instanceof ApiProblem) return error;
  const e = error as Partial<FastifyError> & { validationContext?: string };
  if (hasZodFastifySchemaValidationErrors(error)) {
    const part = PART[e.validationContext ?? ''] ?? 'request';
    const errors: FieldError[] = error.validation.map((v) => ({
      path: [part, ...v.instancePath.split('/').filter(Boolean)].join('.'),
      message: v.message ?? 'invalid',
    }));
    return badRequest('The request does not match the schema.', errors);
  }
  switch (e.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE': return new ApiProblem(413, 'too-large', 'Payload too large', { detail: 'The request body is larger than this route accepts.' });
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE': return new ApiProblem(415, 'unsupported-media-type', 'Unsupported media type', { detail: 'Send application/json.' });
    case 'FST_ERR_CTP_EMPTY_JSON_BODY': return badRequest('The request body is empty.', [{ path: 'body', message: 'required' }]);
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH': return badRequest('The request body is not valid JSON.', [{ path: 'body', message: 'malformed JSON' }]);
    default: break;
  }
  if (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
    return new ApiProblem(e.statusCode, 'client-error', 'Bad request');
  }
  return undefined;
}

export function problemErrorHandler(logger: Logger) {
  return (error: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply => {
    const problem = toProblem(error);
    if (problem) return sendProblem(reply, problem);
    const e = error as { name?: string; code?: string; message?: string; stack?: string };
    // Name, code and stack only: messages and details of database errors may quote values.
    logger.error({ route: request.routeOptions.url, method: request.method, err: { name: e?.name, code: e?.code, stack: e?.stack?.split('\n').slice(1, 6).join('\n') } }, 'unexpected error in a /v1 route');
    return sendProblem(reply, internalError());
  };
}

export function problemNotFoundHandler(_request: FastifyRequest, reply: FastifyReply): FastifyReply {
  return sendProblem(reply, notFound('No such route.'));
}
