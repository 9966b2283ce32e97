// API keys over GraphQL (admin scope, src/security/scopes.ts): list, create, revoke.
import type { ApiScope, Resolvers } from '../generated/graphql.js';
import { createApiKey, listApiKeys, revokeApiKey } from '../security/keys.js';
import type { Scope } from '../security/scopes.js';
import { notFound } from '../errors.js';

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
      const created = await createApiKey(db, {
        name: input.name,
        scopes: input.scopes.map(fromEnum),
        ratePerMinute: input.ratePerMinute ?? null,
      });
      keys?.invalidate();
      return created;
    },
    async revokeApiKey(_, { id }, { db, keys }) {
      const key = await revokeApiKey(db, id);
      if (!key) throw notFound(`API key ${id}`);
      keys?.invalidate();
      return key;
    },
  },
};
