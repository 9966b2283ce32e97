// GraphQL errors with the machine-readable codes clients switch on (Apollo's conventions, plus
// the gateway's own refusals). Every code a client can see is listed in ErrorCode.
import { GraphQLError } from 'graphql';

/**
 * The `extensions.code` values the gateway answers with. Apollo's own codes first, then the
 * gateway's: access control, abuse limits, transport-level refusals and model rollout.
 * docs/security.md and docs/errors.md describe each.
 */
export const ErrorCode = {
  // Apollo Server
  BAD_USER_INPUT: 'BAD_USER_INPUT',
  GRAPHQL_PARSE_FAILED: 'GRAPHQL_PARSE_FAILED',
  GRAPHQL_VALIDATION_FAILED: 'GRAPHQL_VALIDATION_FAILED',
  PERSISTED_QUERY_NOT_FOUND: 'PERSISTED_QUERY_NOT_FOUND',
  PERSISTED_QUERY_NOT_SUPPORTED: 'PERSISTED_QUERY_NOT_SUPPORTED',
  OPERATION_RESOLUTION_FAILURE: 'OPERATION_RESOLUTION_FAILURE',
  BAD_REQUEST: 'BAD_REQUEST',
  INTERNAL_SERVER_ERROR: 'INTERNAL_SERVER_ERROR',
  // Data
  NOT_FOUND: 'NOT_FOUND',
  /** The database or the model is (for now) unable to answer; `extensions.retryable`. */
  UNAVAILABLE: 'UNAVAILABLE',
  // Access control (src/security/auth.ts)
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
  // Model rollout (src/rollout/)
  MODEL_VALIDATION_FAILED: 'MODEL_VALIDATION_FAILED',
  ROLLOUT_CONFLICT: 'ROLLOUT_CONFLICT',
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** Every code but INTERNAL_SERVER_ERROR describes the client's request or the service's state
 * and is shown to the client as it is; anything else is reported as INTERNAL_SERVER_ERROR. */
export const CLIENT_CODES: ReadonlySet<string> = new Set(
  Object.values(ErrorCode).filter((c) => c !== ErrorCode.INTERNAL_SERVER_ERROR),
);

/** A GraphQL error with `code` and any further extensions (e.g. `retryAfterMs`). */
export function codedError(
  code: ErrorCode,
  message: string,
  extensions: Record<string, unknown> = {},
): GraphQLError {
  return new GraphQLError(message, { extensions: { code, ...extensions } });
}

/** Longest id a client may give (items, users, sessions, events): ids are btree-indexed, and
 * PostgreSQL refuses an index row over ~2.7 kB. */
export const MAX_ID_LENGTH = 200;

/** BAD_USER_INPUT naming `field` when `value` is longer than MAX_ID_LENGTH (or `max`). */
export function checkLength(field: string, value: string | null | undefined, max = MAX_ID_LENGTH) {
  if (value && value.length > max)
    throw badUserInput(field, `at most ${max} characters, got ${value.length}`);
}

/** The client sent something invalid; `field` names it (e.g. `events[2].itemId`). */
export function badUserInput(field: string, message: string): GraphQLError {
  return codedError(ErrorCode.BAD_USER_INPUT, `${field}: ${message}`, { field });
}

export function notFound(what: string): GraphQLError {
  return codedError(ErrorCode.NOT_FOUND, `${what} not found`);
}

/** The row a non-null field points at, or NOT_FOUND naming it (e.g. `category beauty:a1`). */
export async function found<R>(row: Promise<R | null>, what: string): Promise<R> {
  const r = await row;
  if (!r) throw notFound(what);
  return r;
}
