// GraphQL errors with the machine-readable codes clients switch on (src/error-codes.ts lists
// every code a client can see).
import { GraphQLError } from 'graphql';
import { ErrorCode } from '../error-codes.js';

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
