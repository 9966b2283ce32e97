// API keys over GraphQL (admin scope, src/security/scopes.ts): list, create, revoke.
import type { ApiScope, Resolvers } from '../generated/graphql.js';
import { ApiKeyInputError, createApiKey, listApiKeys, revokeApiKey } from '../security/keys.js';
import type { Scope } from '../security/scopes.js';
import { badUserInput, notFound } from './errors.js';

const toEnum = (s: Scope) => s.toUpperCase().replace(':', '_') as ApiScope;
const fromEnum = (s: ApiScope) => s.toLowerCase().replace('_', ':');

export const accessResolvers: Resolvers = {
  ApiKey: {
    scopes: (key) => key.scopes.map(toEnum),
  },
  Query: {
    apiKeys: (_, __, { db }) => listApiKeys(db),
  },
  Mutation: {
    async createApiKey(_, { input }, { db, keys }) {
      try {
        const created = await createApiKey(db, {
          name: input.name,
          scopes: input.scopes.map(fromEnum),
          ratePerMinute: input.ratePerMinute ?? null,
        });
        keys?.invalidate();
        return created;
      } catch (err) {
        if (err instanceof ApiKeyInputError) throw badUserInput(`input.${err.field}`, err.message);
        throw err;
      }
    },
    async revokeApiKey(_, { id }, { db, keys }) {
      const key = await revokeApiKey(db, id);
      if (!key) throw notFound(`API key ${id}`);
      keys?.invalidate();
      return key;
    },
  },
};
