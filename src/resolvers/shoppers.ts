// Users and sessions, with their (batched) session and event connections.
import { datasetOf } from '../db/events.js';
import { listUsers, upsertUser } from '../db/users.js';
import type { Resolvers } from '../generated/graphql.js';
import { badUserInput } from '../errors.js';
import { eventKey, idKey, pageRequest, toConnection } from './paging.js';

const MAX_PROFILE_KEYS = 32;
const PROFILE_KEY = /^[A-Za-z0-9_.-]{1,64}$/;
const MAX_PROFILE_STRING = 200;

/** A profile as UserInput.profile allows it, or BAD_USER_INPUT naming what to fix. */
function checkProfile(profile: unknown): Record<string, unknown> {
  if (typeof profile !== 'object' || profile === null || Array.isArray(profile))
    throw badUserInput('input.profile', 'must be a JSON object');
  const entries = Object.entries(profile);
  if (entries.length > MAX_PROFILE_KEYS)
    throw badUserInput(
      'input.profile',
      `at most ${MAX_PROFILE_KEYS} attributes, got ${entries.length}`,
    );
  for (const [key, value] of entries) {
    if (!PROFILE_KEY.test(key))
      throw badUserInput(
        'input.profile',
        `attribute name ${JSON.stringify(key.slice(0, 80))}: 1–64 letters, digits, _, - or .`,
      );
    const field = `input.profile.${key}`;
    if (typeof value === 'string') {
      if (value.length > MAX_PROFILE_STRING)
        throw badUserInput(field, `at most ${MAX_PROFILE_STRING} characters, got ${value.length}`);
    } else if (typeof value === 'number') {
      if (!Number.isFinite(value)) throw badUserInput(field, 'must be a finite number');
    } else if (typeof value !== 'boolean' && value !== null)
      throw badUserInput(field, 'must be a string, number, boolean or null');
  }
  return profile as Record<string, unknown>;
}

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
  Mutation: {
    upsertUser: (_, { input }, { db }) => {
      if (input.id.length === 0 || input.id.length > 200)
        throw badUserInput('input.id', 'must be 1–200 characters');
      const profile = checkProfile(input.profile);
      return upsertUser(db, { id: input.id, dataset: datasetOf(input.id), profile });
    },
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
    visit: (s) => s.visit ?? {},
    events: async (s, args, { loaders, config }) => {
      const page = pageRequest(args, config.maxPageSize, 2);
      return toConnection(await loaders.eventsOfSession.load({ parentId: s.id, page }), eventKey);
    },
  },
};
