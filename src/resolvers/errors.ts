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
