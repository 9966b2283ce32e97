// GraphQL errors with the machine-readable codes clients switch on (Apollo's conventions).
import { GraphQLError } from 'graphql';

/** The client sent something invalid; `field` names it (e.g. `events[2].itemId`). */
export function badUserInput(field: string, message: string): GraphQLError {
  return new GraphQLError(`${field}: ${message}`, {
    extensions: { code: 'BAD_USER_INPUT', field },
  });
}

export function notFound(what: string): GraphQLError {
  return new GraphQLError(`${what} not found`, {
    extensions: { code: 'NOT_FOUND' },
  });
}

/** The row a non-null field points at, or NOT_FOUND naming it (e.g. `category beauty:a1`). */
export async function found<R>(row: Promise<R | null>, what: string): Promise<R> {
  const r = await row;
  if (!r) throw notFound(what);
  return r;
}
