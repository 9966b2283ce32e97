// Forged cursors: a base64 cursor holding values that do not fit its list's sort key (text for
// a number, a number past int32, a fraction, NUL, the wrong length) is refused as
// BAD_USER_INPUT naming `after` / `before` before any SQL runs — the hostile review had them
// fail inside PostgreSQL as INTERNAL_SERVER_ERROR — and a cursor of one list is not a position
// in another.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../src/db/client.js';
import { importAmazon } from '../../src/import/amazon.js';
import { backends } from '../helpers/backends.js';
import { beautySlice } from '../helpers/fixtures.js';
import { startServer, type TestServer } from '../helpers/server.js';

const cursor = (json: string) => Buffer.from(json).toString('base64url');

const ITEMS = `query($after: String, $before: String) {
  items(first: 2, after: $after, before: $before) { edges { cursor node { id } } } }`;
const USERS = `query($after: String) { users(first: 2, after: $after) { edges { cursor node { id } } } }`;
const CATEGORIES = `query($after: String) {
  categories(first: 2, after: $after) { edges { cursor node { id } } } }`;
const USER_EVENTS = `query($id: ID!, $after: String, $before: String) { user(id: $id) {
  events(first: 2, after: $after, before: $before) { edges { cursor node { id sequence } } }
  sessions(first: 2) { edges { cursor } } } }`;
const USER_SESSIONS = `query($id: ID!, $after: String) { user(id: $id) {
  sessions(first: 2, after: $after) { edges { cursor node { id } } } } }`;
const SESSION_EVENTS = `query($id: ID!, $after: String) { session(id: $id) {
  events(first: 2, after: $after) { edges { cursor node { id } } } } }`;

/** Cursors shaped like a list's key but holding what its SQL types cannot take. */
const FORGED_EVENT_KEYS = [
  '[1,"abc"]',
  '[2147483648,"1"]',
  '[-2147483649,"1"]',
  '["abc","1"]',
  '[1.5,"1"]',
  '[1,"99999999999999999999"]',
  '[1,"1.5"]',
  '[1,"1e3"]',
  '[1," 1"]',
  '[null,null]',
  '[true,"1"]',
  '[1,{"x":1}]',
  '[1,[1]]',
  '[1,"1\\u0000"]',
  '[1e400,"1"]',
  '[1]',
  '[1,"1",3]',
  '{"0":1,"1":"1"}',
];
const FORGED_ID_KEYS = [
  '["\\u0000"]',
  '[1]',
  '[null]',
  '[["a"]]',
  `["${'x'.repeat(5000)}"]`,
  '[]',
  '"beauty:1"',
];

describe.each(backends)('forged cursors on $name', (backend) => {
  let db: Db;
  let dispose: () => Promise<void>;
  let server: TestServer;
  const userId = 'beauty:1';

  beforeAll(async () => {
    ({ db, dispose } = await backend.open());
    const slice = await beautySlice(10);
    await importAmazon(db, { sequences: [slice.sequences], attributes: [slice.attributes] });
    await db.query(
      `INSERT INTO sessions (id, dataset, user_id) VALUES ('beauty:s1', 'beauty', 'beauty:1')`,
    );
    await db.query(`UPDATE events SET session_id = 'beauty:s1' WHERE user_id = 'beauty:1'`);
    server = await startServer(db);
  });
  afterAll(async () => {
    await server?.close();
    await dispose?.();
  });

  const expectRefused = (res: Awaited<ReturnType<TestServer['gql']>>, field: string) => {
    expect(res.status, JSON.stringify(res.errors)).toBe(200);
    expect(res.errors).toHaveLength(1);
    expect(res.errors![0]!.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field });
    expect(res.errors![0]!.message).toMatch(/cursor/);
  };

  it.each(FORGED_EVENT_KEYS)('refuses User.events(after: %s)', async (key) => {
    expectRefused(await server.gql(USER_EVENTS, { id: userId, after: cursor(key) }), 'after');
  });

  it.each(FORGED_EVENT_KEYS)('refuses User.events(before: %s)', async (key) => {
    expectRefused(await server.gql(USER_EVENTS, { id: userId, before: cursor(key) }), 'before');
  });

  it.each(FORGED_EVENT_KEYS)('refuses Session.events(after: %s)', async (key) => {
    expectRefused(
      await server.gql(SESSION_EVENTS, { id: 'beauty:s1', after: cursor(key) }),
      'after',
    );
  });

  it.each(FORGED_ID_KEYS.map((k) => [k.slice(0, 40), k]))(
    'refuses items / users / categories after %s',
    async (_, key) => {
      expectRefused(await server.gql(ITEMS, { after: cursor(key) }), 'after');
      expectRefused(await server.gql(ITEMS, { before: cursor(key) }), 'before');
      expectRefused(await server.gql(USERS, { after: cursor(key) }), 'after');
      expectRefused(await server.gql(CATEGORIES, { after: cursor(key) }), 'after');
      expectRefused(await server.gql(USER_SESSIONS, { id: userId, after: cursor(key) }), 'after');
    },
  );

  it('refuses cursors that are not base64 JSON, or too long to be one', async () => {
    for (const after of ['', '!!!', '%%%', cursor('not json'), 'A'.repeat(100_000)])
      expectRefused(await server.gql(ITEMS, { after }), 'after');
  });

  it("refuses one list's cursor as a position in another", async () => {
    const items = (await server.gql(ITEMS)).data.items.edges;
    const users = (await server.gql(USERS)).data.users.edges;
    const categories = (await server.gql(CATEGORIES)).data.categories.edges;
    const mine = (await server.gql(USER_EVENTS, { id: userId })).data.user;
    const userEvents = mine.events.edges;
    const userSessions = mine.sessions.edges;
    const sessionEvents = (await server.gql(SESSION_EVENTS, { id: 'beauty:s1' })).data.session
      .events.edges;
    for (const e of [items, users, categories, userEvents, userSessions, sessionEvents])
      expect(e.length).toBeGreaterThan(0);

    expectRefused(await server.gql(USERS, { after: items[0].cursor }), 'after');
    expectRefused(await server.gql(ITEMS, { after: users[0].cursor }), 'after');
    expectRefused(await server.gql(ITEMS, { after: categories[0].cursor }), 'after');
    expectRefused(await server.gql(CATEGORIES, { after: items[0].cursor }), 'after');
    expectRefused(await server.gql(USER_SESSIONS, { id: userId, after: users[0].cursor }), 'after');
    expectRefused(
      await server.gql(SESSION_EVENTS, { id: 'beauty:s1', after: userEvents[0].cursor }),
      'after',
    );
    expectRefused(
      await server.gql(USER_EVENTS, { id: userId, after: sessionEvents[0].cursor }),
      'after',
    );

    // Each list's own cursors still page it.
    const next = await server.gql(ITEMS, { after: items[0].cursor });
    expect(next.errors).toBeUndefined();
    expect(next.data.items.edges[0].node.id).toBe(items[1].node.id);
    const older = await server.gql(USER_EVENTS, { id: userId, after: userEvents[0].cursor });
    expect(older.errors).toBeUndefined();
    expect(older.data.user.events.edges[0].node.id).toBe(userEvents[1].node.id);
    const later = await server.gql(SESSION_EVENTS, {
      id: 'beauty:s1',
      after: sessionEvents[0].cursor,
    });
    expect(later.errors).toBeUndefined();
    expect(later.data.session.events.edges[0].node.id).toBe(sessionEvents[1].node.id);
  });
});
