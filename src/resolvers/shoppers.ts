// Users and sessions, with their (batched) session and event connections.
import { listUsers } from '../db/users.js';
import type { Resolvers } from '../generated/graphql.js';
import { eventKey, idKey, pageRequest, toConnection } from './paging.js';

export const shopperResolvers: Resolvers = {
  Query: {
    user: (_, { id }, { loaders }) => loaders.user.load(id),
    users: async (_, args, { db, config, loaders }) => {
      const filter = args.dataset != null ? { dataset: args.dataset } : {};
      const page = await listUsers(db, filter, pageRequest(args, config.maxPageSize));
      for (const row of page.rows) loaders.user.prime(row.id, row);
      return toConnection(page, idKey);
    },
    session: (_, { id }, { loaders }) => loaders.session.load(id),
  },
  User: {
    sessions: async (user, args, { loaders, config }) => {
      const page = pageRequest(args, config.maxPageSize);
      return toConnection(await loaders.sessionsOfUser.load({ parentId: user.id, page }), idKey);
    },
    events: async (user, args, { loaders, config }) => {
      const page = pageRequest(args, config.maxPageSize, 2);
      return toConnection(await loaders.eventsOfUser.load({ parentId: user.id, page }), eventKey);
    },
  },
  Session: {
    user: (s, _, { loaders }) => (s.userId ? loaders.user.load(s.userId) : null),
    events: async (s, args, { loaders, config }) => {
      const page = pageRequest(args, config.maxPageSize, 2);
      return toConnection(await loaders.eventsOfSession.load({ parentId: s.id, page }), eventKey);
    },
  },
};
