// The `extensions.code` values the gateway answers with, in one list that every layer uses:
// the engine and the rollout tag their refusals with these, the resolvers turn them into
// GraphQL errors (resolvers/errors.ts). No imports: any module may depend on it.

/**
 * The `extensions.code` values the gateway answers with. Apollo's own codes first, then the
 * gateway's: access control, abuse limits, transport-level refusals and model rollout.
 * docs/security.md describes each (docs/rollout.md the rollout's).
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
