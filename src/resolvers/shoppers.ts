// Users and sessions, with their (batched) session and event connections.
import { SESSION_EVENTS_KEYSET, USER_EVENTS_KEYSET, type EventRow } from '../db/events.js';
import { SESSION_KEYSET, type SessionRow } from '../db/sessions.js';
import { listUsers, upsertUser, USER_KEYSET, type UserRow } from '../db/users.js';
import type { Resolvers } from '../generated/graphql.js';
import { badUserInput } from '../errors.js';
import { checkLength, datasetOfStoredId, lookupId } from '../input-rules.js';
import { eventKey, idKey, pageRequest, toConnection, type CursorList } from './paging.js';

const USERS: CursorList<UserRow> = { name: 'Query.users', keyset: USER_KEYSET, keyOf: idKey };
const USER_SESSIONS: CursorList<SessionRow> = {
  name: 'User.sessions',
  keyset: SESSION_KEYSET,
  keyOf: idKey,
};
const USER_EVENTS: CursorList<EventRow> = {
  name: 'User.events',
  keyset: USER_EVENTS_KEYSET,
  keyOf: eventKey,
};
const SESSION_EVENTS: CursorList<EventRow> = {
  name: 'Session.events',
  keyset: SESSION_EVENTS_KEYSET,
  keyOf: eventKey,
};

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
    user: (_, { id }, { loaders }) => loaders.user.load(lookupId('id', id)),
    users: async (_, args, { db, config, loaders }) => {
      checkLength('dataset', args.dataset);
      const filter = args.dataset != null ? { dataset: args.dataset } : {};
      const page = await listUsers(db, filter, pageRequest(args, config.maxPageSize, USERS));
      for (const row of page.rows) loaders.user.prime(row.id, row);
      return toConnection(page, USERS);
    },
    session: (_, { id }, { loaders }) => loaders.session.load(lookupId('id', id)),
  },
  Mutation: {
    upsertUser: (_, { input }, { db }) => {
      if (input.id.length === 0 || input.id.length > 200)
        throw badUserInput('input.id', 'must be 1–200 characters');
      const dataset = datasetOfStoredId('input.id', input.id);
      const profile = checkProfile(input.profile);
      return upsertUser(db, { id: input.id, dataset, profile });
    },
  },
  User: {
    sessions: async (user, args, { loaders, config }) => {
      const page = pageRequest(args, config.maxPageSize, USER_SESSIONS);
      const sessions = await loaders.sessionsOfUser.load({ parentId: user.id, page });
      return toConnection(sessions, USER_SESSIONS);
    },
    events: async (user, args, { loaders, config }) => {
      const page = pageRequest(args, config.maxPageSize, USER_EVENTS);
      const events = await loaders.eventsOfUser.load({ parentId: user.id, page });
      return toConnection(events, USER_EVENTS);
    },
  },
  Session: {
    user: (s, _, { loaders }) => (s.userId ? loaders.user.load(s.userId) : null),
    visit: (s) => s.visit ?? {},
    events: async (s, args, { loaders, config }) => {
      const page = pageRequest(args, config.maxPageSize, SESSION_EVENTS);
      const events = await loaders.eventsOfSession.load({ parentId: s.id, page });
      return toConnection(events, SESSION_EVENTS);
    },
  },
};
