// recordEvents over HTTP: idempotent by clientEventId, creates users and sessions on first
// sight, continues sequence numbers, and rejects bad input with BAD_USER_INPUT naming the
// field — writing nothing of a rejected batch.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../src/db/client.js';
import { backends } from '../helpers/backends.js';
import { startServer, type TestServer } from '../helpers/server.js';

const RECORD = `mutation($events: [EventInput!]!) {
  recordEvents(events: $events) {
    accepted duplicates
    results { duplicate event { id clientEventId type sequence occurredAt query
      user { id } session { id user { id } startedAt lastEventAt } item { id } } }
  }
}`;

describe.each(backends)('recordEvents on $name', (backend) => {
  let db: Db;
  let dispose: () => Promise<void>;
  let server: TestServer;
  const count = async (table: string) =>
    Number((await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`)).rows[0]!.n);

  beforeAll(async () => {
    ({ db, dispose } = await backend.open());
    await db.query(
      `INSERT INTO items (id, dataset, title, price) VALUES
       ('shop:1', 'shop', 'Red lipstick', 9.5), ('shop:2', 'shop', 'Blue mascara', 12)`,
    );
    server = await startServer(db, { MAX_EVENT_BATCH: '5' });
  });
  afterAll(async () => {
    await server?.close();
    await dispose?.();
  });

  const batch = [
    {
      clientEventId: 'c-1',
      type: 'VIEW',
      userId: 'shop:u1',
      sessionId: 'shop:s1',
      itemId: 'shop:1',
      occurredAt: '2026-01-05T10:00:00Z',
    },
    {
      clientEventId: 'c-2',
      type: 'CART',
      userId: 'shop:u1',
      sessionId: 'shop:s1',
      itemId: 'shop:1',
      occurredAt: '2026-01-05T10:01:00Z',
    },
    { clientEventId: 'c-3', type: 'SEARCH', sessionId: 'shop:s2', query: 'mascara' },
  ];

  it('stores a batch, creating users and sessions on first sight', async () => {
    const res = await server.gql(RECORD, { events: batch });
    expect(res.errors).toBeUndefined();
    const out = res.data.recordEvents;
    expect(out).toMatchObject({ accepted: 3, duplicates: 0 });
    expect(out.results.map((r: any) => r.event.sequence)).toEqual([1, 2, 1]);
    expect(out.results[1].event).toMatchObject({
      type: 'CART',
      user: { id: 'shop:u1' },
      item: { id: 'shop:1' },
      occurredAt: '2026-01-05T10:01:00.000Z',
      session: {
        id: 'shop:s1',
        user: { id: 'shop:u1' },
        startedAt: '2026-01-05T10:00:00.000Z',
        lastEventAt: '2026-01-05T10:01:00.000Z',
      },
    });
    expect(out.results[2].event).toMatchObject({
      user: null,
      session: { id: 'shop:s2', user: null },
      query: 'mascara',
    });
    expect(out.results[2].event.occurredAt).toEqual(expect.any(String)); // time of receipt
    expect([await count('events'), await count('users'), await count('sessions')]).toEqual([
      3, 1, 2,
    ]);
  });

  it('stores nothing new when the same batch is sent again', async () => {
    const first = (await server.gql(RECORD, { events: batch })).data.recordEvents;
    expect(first).toMatchObject({ accepted: 0, duplicates: 3 });
    expect(first.results.every((r: any) => r.duplicate)).toBe(true);
    expect(await count('events')).toBe(3);
    const { rows } = await db.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM events WHERE client_event_id = 'c-1'",
    );
    expect(rows[0]!.n).toBe(1);
  });

  it('continues the sequence and counts repeats inside one batch as duplicates', async () => {
    const ev = { clientEventId: 'c-4', type: 'PURCHASE', userId: 'shop:u1', itemId: 'shop:2' };
    const out = (await server.gql(RECORD, { events: [ev, ev, batch[0]] })).data.recordEvents;
    expect(out).toMatchObject({ accepted: 1, duplicates: 2 });
    expect(out.results.map((r: any) => [r.duplicate, r.event.sequence])).toEqual([
      [false, 3],
      [true, 3],
      [true, 1],
    ]);
  });

  const cases: [string, unknown[], RegExp][] = [
    ['an empty batch', [], /^events: must contain at least one event/],
    [
      'a batch over MAX_EVENT_BATCH',
      Array.from({ length: 6 }, (_, i) => ({ ...batch[0], clientEventId: `big-${i}` })),
      /^events: has 6 events; at most 5/,
    ],
    [
      'an unknown item',
      [
        { ...batch[0], clientEventId: 'x-1' },
        { ...batch[0], clientEventId: 'x-2', itemId: 'shop:404' },
      ],
      /^events\[1\]\.itemId: unknown item "shop:404"/,
    ],
    [
      'a VIEW without item',
      [{ clientEventId: 'x-3', type: 'VIEW', userId: 'shop:u9' }],
      /^events\[0\]\.itemId: is required/,
    ],
    [
      'an event without user or session',
      [{ clientEventId: 'x-4', type: 'VIEW', itemId: 'shop:1' }],
      /^events\[0\]\.userId: /,
    ],
    [
      'a session of another user',
      [{ ...batch[0], clientEventId: 'x-5', userId: 'shop:u2' }],
      /^events\[0\]\.sessionId: session "shop:s1" belongs to another user/,
    ],
  ];

  it.each(cases)(
    'rejects %s with BAD_USER_INPUT and writes nothing',
    async (_name, events, message) => {
      const before = [await count('events'), await count('users'), await count('sessions')];
      const res = await server.gql(RECORD, { events });
      expect(res.data?.recordEvents ?? null).toBeNull();
      expect(res.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
      expect(res.errors?.[0]?.message).toMatch(message);
      expect([await count('events'), await count('users'), await count('sessions')]).toEqual(
        before,
      );
    },
  );

  it('rejects an unknown event type naming the field', async () => {
    const res = await server.gql(RECORD, {
      events: [{ ...batch[0], clientEventId: 'x-6', type: 'CLICK' }],
    });
    expect(res.status).toBe(400);
    expect(res.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(res.errors?.[0]?.message).toMatch(/events\[0\]\.type/);
    expect(res.errors?.[0]?.message).toMatch(/CLICK/);
  });

  it('gives concurrent batches of one user distinct sequence numbers', async () => {
    const batches = Array.from({ length: 4 }, (_, b) =>
      Array.from({ length: 3 }, (_, e) => ({
        clientEventId: `conc-${b}-${e}`,
        type: 'VIEW',
        userId: 'shop:conc',
        itemId: 'shop:2',
      })),
    );
    const results = await Promise.all(batches.map((events) => server.gql(RECORD, { events })));
    expect(results.map((r) => r.errors)).toEqual([undefined, undefined, undefined, undefined]);
    const { rows } = await db.query<{ seq: number }>(
      "SELECT seq FROM events WHERE user_id = 'shop:conc' ORDER BY seq",
    );
    expect(rows.map((r) => r.seq)).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
  });

  it('stores one copy when the same batch is retried concurrently, reporting the rest as duplicates', async () => {
    const events = Array.from({ length: 3 }, (_, e) => ({
      clientEventId: `retry-${e}`,
      type: 'VIEW',
      userId: `shop:retry-${e % 2}`,
      itemId: 'shop:1',
    }));
    const results = await Promise.all(
      Array.from({ length: 4 }, () => server.gql(RECORD, { events })),
    );
    expect(results.map((r) => r.errors)).toEqual([undefined, undefined, undefined, undefined]);
    const accepted = results.map((r) => r.data.recordEvents.accepted as number);
    expect(accepted.reduce((a, b) => a + b, 0)).toBe(3);
    const { rows } = await db.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM events WHERE client_event_id LIKE 'retry-%'",
    );
    expect(rows[0]!.n).toBe(3);
  });

  it('refuses a second user for an anonymous session claimed earlier in the same batch', async () => {
    await server.gql(RECORD, {
      events: [
        { clientEventId: 'anon-1', type: 'VIEW', sessionId: 'shop:anon-s', itemId: 'shop:1' },
      ],
    });
    const res = await server.gql(RECORD, {
      events: [
        {
          clientEventId: 'anon-2',
          type: 'VIEW',
          sessionId: 'shop:anon-s',
          userId: 'shop:ua',
          itemId: 'shop:1',
        },
        {
          clientEventId: 'anon-3',
          type: 'VIEW',
          sessionId: 'shop:anon-s',
          userId: 'shop:ub',
          itemId: 'shop:1',
        },
      ],
    });
    expect(res.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(res.errors?.[0]?.message).toMatch(/^events\[1\]\.sessionId: /);
    const { rows } = await db.query<{ user_id: string | null }>(
      "SELECT user_id FROM sessions WHERE id = 'shop:anon-s'",
    );
    expect(rows[0]!.user_id).toBeNull(); // all or nothing: the claim was rolled back too
  });

  it('hides internal errors from clients', async () => {
    await db.query('ALTER TABLE events RENAME TO events_hidden');
    try {
      const res = await server.gql(
        '{ user(id: "shop:u1") { events(first: 1) { edges { node { id } } } } }',
      );
      expect(res.errors?.[0]).toMatchObject({
        message: 'Internal server error',
        extensions: { code: 'INTERNAL_SERVER_ERROR' },
      });
      expect(JSON.stringify(res)).not.toMatch(/relation|SELECT|does not exist|hidden/i);
    } finally {
      await db.query('ALTER TABLE events_hidden RENAME TO events');
    }
  });
});
