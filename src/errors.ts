// Every error a client can see, in one place: the codes (`extensions.code`), the one error
// class any layer throws for a refusal (CodedError: the engine, serving, the database layer and
// security know nothing of GraphQL), its GraphQL and HTTP forms, and the retry hint. Every
// answer the gateway gives — GraphQL, transport refusals, /metrics — has the same shape:
// `{ errors: [{ message, extensions: { code, field?, retryAfterMs?, … } }] }`.
import { ApolloServerErrorCode } from '@apollo/server/errors';
import type { FastifyReply } from 'fastify';
import { GraphQLError } from 'graphql';

/**
 * The `extensions.code` values the gateway answers with: Apollo Server's own, then the
 * gateway's — data, access control, abuse limits, transport-level refusals and model rollout.
 * docs/security.md describes each (docs/rollout.md the rollout's).
 */
export const ErrorCode = {
  ...ApolloServerErrorCode,
  // Data
  NOT_FOUND: 'NOT_FOUND',
  /** The database or the model cannot answer now; `retryAfterMs` when a retry may succeed. */
  UNAVAILABLE: 'UNAVAILABLE',
  // Access control (src/security/keys.ts, guard.ts)
  UNAUTHENTICATED: 'UNAUTHENTICATED',
  FORBIDDEN: 'FORBIDDEN',
  // Abuse limits (src/security/limits.ts, rate-limit.ts, allow-list.ts)
  QUERY_TOO_DEEP: 'QUERY_TOO_DEEP',
  QUERY_TOO_COSTLY: 'QUERY_TOO_COSTLY',
  TOO_MANY_ALIASES: 'TOO_MANY_ALIASES',
  BATCH_TOO_LARGE: 'BATCH_TOO_LARGE',
  RATE_LIMITED: 'RATE_LIMITED',
  OPERATION_NOT_ALLOWED: 'OPERATION_NOT_ALLOWED',
  // Transport (answered before GraphQL runs; src/security/transport.ts)
  PAYLOAD_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  INVALID_JSON: 'INVALID_JSON',
  UNSUPPORTED_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  METHOD_NOT_ALLOWED: 'METHOD_NOT_ALLOWED',
  ROUTE_NOT_FOUND: 'ROUTE_NOT_FOUND',
  // Model rollout (src/serving/)
  MODEL_VALIDATION_FAILED: 'MODEL_VALIDATION_FAILED',
  /** The rollout gate (src/serving/gate.ts): the model loses to a baseline on its test targets. */
  MODEL_BELOW_BASELINE: 'MODEL_BELOW_BASELINE',
  /** The rollout gate: model.json has no test figures of the model and its baselines. */
  MODEL_NOT_EVALUATED: 'MODEL_NOT_EVALUATED',
  ROLLOUT_CONFLICT: 'ROLLOUT_CONFLICT',
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** Every code but INTERNAL_SERVER_ERROR describes the client's request or the service's state
 * and is shown to the client as it is; anything else is reported as INTERNAL_SERVER_ERROR. */
export const CLIENT_CODES: ReadonlySet<string> = new Set(
  Object.values(ErrorCode).filter((c) => c !== ErrorCode.INTERNAL_SERVER_ERROR),
);

/** What an error tells a client beside its code and message. */
export interface ErrorExtensions {
  /** The input at fault, as the request names it (e.g. `events[2].itemId`). */
  field?: string;
  /**
   * The retry hint, in its one spelling: present when the same request may succeed later,
   * after about this many milliseconds (HTTP refusals also send `Retry-After` in seconds).
   */
  retryAfterMs?: number;
  [key: string]: unknown;
}

/** The retry hint after a lost database connection: the pool reconnects within about a second. */
export const RETRY_AFTER_CONNECTION_LOST_MS = 1000;

/** A refusal with a client-visible code, thrown by any layer; the edges answer it as it is. */
export class CodedError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly extensions: ErrorExtensions = {},
    options?: { cause: unknown },
  ) {
    super(message, options);
    this.name = 'CodedError';
  }
}

/** A CodedError with `code`, `message` and any further extensions. */
export function codedError(
  code: ErrorCode,
  message: string,
  extensions: ErrorExtensions = {},
): CodedError {
  return new CodedError(code, message, extensions);
}

/** The client sent something invalid; `field` names it (e.g. `events[2].itemId`). */
export function badUserInput(field: string, message: string): CodedError {
  return new CodedError(ErrorCode.BAD_USER_INPUT, `${field}: ${message}`, { field });
}

export function notFound(what: string): CodedError {
  return new CodedError(ErrorCode.NOT_FOUND, `${what} not found`);
}

/** The service cannot answer now; with `retryAfterMs` when the same request may succeed later. */
export function unavailable(message: string, retryAfterMs?: number): CodedError {
  return new CodedError(
    ErrorCode.UNAVAILABLE,
    message,
    retryAfterMs === undefined ? {} : { retryAfterMs },
  );
}

/** The error's client-facing form: `{ message, extensions: { code, … } }`. */
export function formatCoded(err: CodedError): {
  message: string;
  extensions: ErrorExtensions & { code: ErrorCode };
} {
  return { message: err.message, extensions: { code: err.code, ...err.extensions } };
}

/**
 * `err` as a GraphQL error, answered with HTTP `status` when given (refusals of Apollo plugins,
 * made before any resolver runs).
 */
export function toGraphQLError(err: CodedError, status?: number): GraphQLError {
  return new GraphQLError(err.message, {
    extensions: {
      code: err.code,
      ...err.extensions,
      ...(status !== undefined && { http: { status } }),
    },
  });
}

/** `Retry-After` (whole seconds, at least 1) for a hint in milliseconds. */
export function retryAfterHeader(retryAfterMs: number): string {
  return String(Math.max(1, Math.ceil(retryAfterMs / 1000)));
}

/**
 * Answers an HTTP request outside GraphQL (transport refusals, /metrics, the guard's hooks) in
 * the GraphQL error shape, with `Retry-After` when the error carries a retry hint.
 */
export function sendCodedError(
  reply: FastifyReply,
  status: number,
  code: ErrorCode,
  message: string,
  extensions: ErrorExtensions = {},
): FastifyReply {
  if (extensions.retryAfterMs !== undefined) {
    reply.header('retry-after', retryAfterHeader(extensions.retryAfterMs));
  }
  return reply
    .code(status)
    .type('application/json; charset=utf-8')
    .header('cache-control', 'no-store')
    .send({ errors: [formatCoded(new CodedError(code, message, extensions))] });
}
