// Proof that nested lists are batched by the per-request DataLoaders: the number of SQL
// statements for users → sessions → events → item → categories does not grow with the
// number of users.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../src/db/client.js';
import { backends } from '../helpers/backends.js';
import { startServer, type TestServer } from '../helpers/server.js';

const QUERY = `query($n: Int!) {
  users(first: $n, dataset: "np") { edges { node {
    id
    events(first: 3) { edges { node { sequence item { id title } } } }
    sessions(first: 5) { edges { node {
      id user { id }
      events(first: 10) { edges { node { type item { id categories { id name } } session { id } } } }
    } } }
  } } }
}`;

describe.each(backends)('DataLoader batching on $name', (backend) => {
  let db: Db;
  let dispose: () => Promise<void>;
  let server: TestServer;

  beforeAll(async () => {
    ({ db, dispose } = await backend.open());
    server = await startServer(db, { MAX_EVENT_BATCH: '1000' });
    await db.query(
      `INSERT INTO categories (id, dataset, name) VALUES ('np:c1', 'np', 'one'), ('np:c2', 'np', 'two')`,
    );
    for (let i = 1; i <= 6; i++) {
      const res = await server.gql(`mutation($in: ItemInput!) { upsertItem(input: $in) { id } }`, {
        in: {
          id: `np:i${i}`,
          title: `item ${i}`,
          price: i,
          categoryIds: i % 2 ? ['np:c1'] : ['np:c1', 'np:c2'],
        },
      });
      expect(res.errors).toBeUndefined();
    }
    const events = [];
    for (let u = 1; u <= 20; u++)
      for (let s = 1; s <= 2; s++)
        for (let e = 1; e <= 3; e++)
          events.push({
            clientEventId: `np-${u}-${s}-${e}`,
            type: 'VIEW',
            userId: `np:u${String(u).padStart(2, '0')}`,
            sessionId: `np:u${u}-s${s}`,
            itemId: `np:i${((u + s + e) % 6) + 1}`,
          });
    const res = await server.gql(
      `mutation($e: [EventInput!]!) { recordEvents(events: $e) { accepted } }`,
      { e: events },
    );
    expect(res.data?.recordEvents.accepted).toBe(120);
  });
  afterAll(async () => {
    await server?.close();
    await dispose?.();
  });

  it('answers 20 users with sessions, events, items and categories in a constant number of statements', async () => {
    let result: any;
    const for20 = await server.countStatements(async () => {
      result = await server.gql(QUERY, { n: 20 });
    });
    expect(result.errors).toBeUndefined();
    const users = result.data.users.edges;
    expect(users).toHaveLength(20);
    expect(users.every((u: any) => u.node.sessions.edges.length === 2)).toBe(true);
    expect(
      users.every((u: any) =>
        u.node.sessions.edges.every((s: any) => s.node.events.edges.length === 3),
      ),
    ).toBe(true);
    expect(users.every((u: any) => u.node.events.edges.length === 3)).toBe(true);

    const for5 = await server.countStatements(() => server.gql(QUERY, { n: 5 }));
    // users, sessions of users, events of users, events of sessions, items, categories of
    // items, sessions by id, users by id: at most 8, whatever the number of users.
    expect(for20).toBeLessThanOrEqual(8);
    console.info(`${backend.name}: ${for20} SQL statements for 20 users, ${for5} for 5`);
    expect(for20).toBe(for5);
  });
});
