// The time policy (src/time-policy.ts) on every path a time comes in by: recordEvents'
// occurredAt (9999-12-31 and 0001-01-01 were stored, and then made trendingItems /
// trendingCategories of the whole dataset fail; 2024-02-30 was stored as 1 March),
// interestForecast's anonymous events, trending's asOf (2024-02-30 was echoed), outcomes'
// since/until, and the DIGINETICA importer's days. A database written before the policy still
// answers, and a month of year 1 is labelled year 1.
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../src/db/client.js';
import { interestTimeline } from '../../src/evolution/timeline.js';
import { importDiginetica } from '../../src/import/diginetica.js';
import { checkDay, checkInstant, latestDay, MAX_AHEAD_MS } from '../../src/time-policy.js';
import { backends } from '../helpers/backends.js';
import { tempDirs } from '../helpers/fixtures.js';
import { startServer, type TestServer } from '../helpers/server.js';

const NOW = Date.parse('2026-06-15T12:00:00Z');
const iso = (t: number) => new Date(t).toISOString();

/** Times no policy-abiding gateway stores, each with why. */
const REFUSED_INSTANTS: [string, RegExp][] = [
  ['9999-12-31T00:00:00Z', /ahead of the server's clock/],
  ['0001-01-01T00:00:00Z', /before 1990-01-01/],
  ['1989-12-31T23:59:59Z', /before 1990-01-01/],
  ['2024-02-30T00:00:00Z', /not a time of the calendar/],
  ['2023-02-29T00:00:00Z', /not a time of the calendar/],
  ['2024-04-31T00:00:00Z', /not a time of the calendar/],
  ['2024-13-01T00:00:00Z', /not a time of the calendar/],
  ['2024-00-10T00:00:00Z', /not a time of the calendar/],
  ['2024-01-01T24:00:00Z', /not a time of the calendar/],
  ['2024-01-01T10:60:00Z', /not a time of the calendar/],
  ['2024-01-01T10:00:60Z', /not a time of the calendar/],
  ['2024-01-01T10:00:00+24:00', /not a time of the calendar/],
  ['2024-01-01T10:00:00', /ISO-8601 date-time/], // no zone: the server's would be guessed
  ['2024-01-01T10:00Z', /ISO-8601 date-time/],
  ['2024-01-01', /ISO-8601 date-time/],
  ['+010000-01-01T00:00:00Z', /ISO-8601 date-time/],
  ['2024-01-01T10:00:00ZZ', /ISO-8601 date-time/],
  [' 2024-01-01T10:00:00Z', /ISO-8601 date-time/],
];

describe('the time policy', () => {
  it('accepts RFC 3339 times of the calendar within its range, as the instant they name', () => {
    const cases: [string, string][] = [
      ['2024-02-29T12:00:00Z', '2024-02-29T12:00:00.000Z'],
      ['2024-02-29T23:30:00-01:00', '2024-03-01T00:30:00.000Z'],
      ['2024-03-01T00:30:00+01:00', '2024-02-29T23:30:00.000Z'],
      ['2000-02-29t08:00:00.123456789z', '2000-02-29T08:00:00.123Z'],
      ['1990-01-01T00:00:00Z', '1990-01-01T00:00:00.000Z'],
      ['2026-06-15T12:05:00Z', '2026-06-15T12:05:00.000Z'], // exactly MAX_AHEAD ahead
    ];
    for (const [text, instant] of cases) {
      const checked = checkInstant(text, NOW);
      expect(checked, text).toEqual({ ok: true, value: new Date(instant) });
    }
  });

  it.each(REFUSED_INSTANTS)('refuses %s', (text, why) => {
    const checked = checkInstant(text, NOW);
    expect(checked.ok).toBe(false);
    expect(!checked.ok && checked.reason).toMatch(why);
  });

  it('refuses a time more than MAX_AHEAD_MS ahead of the clock, and a non-string', () => {
    expect(checkInstant(iso(NOW + MAX_AHEAD_MS + 1000), NOW).ok).toBe(false);
    expect(checkInstant(iso(NOW + MAX_AHEAD_MS), NOW).ok).toBe(true);
    expect(checkInstant(1767225600, NOW).ok).toBe(false);
    expect(checkInstant(null, NOW).ok).toBe(false);
  });

  it('checks days the same way', () => {
    expect(checkDay('2024-02-29', NOW)).toEqual({ ok: true, value: '2024-02-29' });
    expect(checkDay('1990-01-01', NOW).ok).toBe(true);
    expect(checkDay('2026-06-15', NOW).ok).toBe(true);
    expect(latestDay(Date.parse('2026-06-15T23:58:00Z'))).toBe('2026-06-16');
    for (const day of [
      '2024-02-30',
      '2023-02-29',
      '9999-12-31',
      '0001-01-01',
      '1989-12-31',
      '2026-06-16',
      '2024-1-01',
      'last week',
    ])
      expect(checkDay(day, NOW).ok, day).toBe(false);
  });
});

describe('interestTimeline', () => {
  it('labels a month of year 1 as year 1 (Date.UTC read it as 1901)', () => {
    const at = new Date(0);
    at.setUTCFullYear(1, 4, 17);
    const t = interestTimeline(
      [{ seq: 1, itemId: 'x', occurredAt: at, occurredOn: null, categoryIds: ['c'] }],
      [1],
      'MONTH',
      10,
      12,
      false,
    );
    expect(t.buckets[0]!.start!.toISOString()).toBe('0001-05-01T00:00:00.000Z');
    expect(t.buckets[0]!.end!.toISOString()).toBe('0001-06-01T00:00:00.000Z');
  });
});

const RECORD = `mutation($events: [EventInput!]!) { recordEvents(events: $events) {
  results { event { occurredAt sequence } } } }`;
const TRENDING = `query($asOf: Date) {
  items: trendingItems(dataset: "shop", asOf: $asOf, minSupport: 1) { asOf items { item { id } } }
  categories: trendingCategories(dataset: "shop", asOf: $asOf, minSupport: 1) { asOf categories { category { id } } }
}`;

describe.each(backends)('times over HTTP and in imports on $name', (backend) => {
  let db: Db;
  let dispose: () => Promise<void>;
  let server: TestServer;
  const dirs = tempDirs();
  let n = 0;
  const event = (occurredAt: string) => ({
    clientEventId: `t-${n++}`,
    type: 'VIEW',
    userId: 'shop:u1',
    itemId: 'shop:1',
    occurredAt,
  });
  const count = async () =>
    Number((await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM events`)).rows[0]!.n);

  beforeAll(async () => {
    ({ db, dispose } = await backend.open());
    await db.query(`INSERT INTO categories (id, dataset, name) VALUES ('shop:c', 'shop', 'C')`);
    await db.query(`INSERT INTO items (id, dataset) VALUES ('shop:1', 'shop'), ('shop:2', 'shop')`);
    await db.query(
      `INSERT INTO item_categories (item_id, category_id) VALUES ('shop:1', 'shop:c'), ('shop:2', 'shop:c')`,
    );
    server = await startServer(db);
  });
  afterAll(async () => {
    await server?.close();
    await dispose?.();
    await dirs.removeAll();
  });

  it.each(REFUSED_INSTANTS.map(([t]) => t))(
    'refuses recordEvents with occurredAt %s and stores nothing',
    async (occurredAt) => {
      const res = await server.gql(RECORD, {
        events: [event('2026-01-05T10:00:00Z'), event(occurredAt)],
      });
      expect(res.status).toBe(400);
      expect(res.errors?.[0]?.extensions).toMatchObject({
        code: 'BAD_USER_INPUT',
        field: 'events[1].occurredAt',
      });
      expect(await count()).toBe(0);
    },
  );

  it('refuses an occurredAt an hour ahead of the clock, and stores one a minute ahead', async () => {
    const ahead = await server.gql(RECORD, { events: [event(iso(Date.now() + 3_600_000))] });
    expect(ahead.status).toBe(400);
    expect(ahead.errors?.[0]?.message).toMatch(/ahead of the server's clock/);
    const soon = iso(Date.now() + 60_000);
    const ok = await server.gql(RECORD, { events: [event(soon)] });
    expect(ok.errors).toBeUndefined();
    expect(ok.data.recordEvents.results[0].event.occurredAt).toBe(soon);
  });

  it('stores the instant an offset names', async () => {
    const ok = await server.gql(RECORD, { events: [event('2024-02-29T23:30:00-01:00')] });
    expect(ok.errors).toBeUndefined();
    expect(ok.data.recordEvents.results[0].event.occurredAt).toBe('2024-03-01T00:30:00.000Z');
  });

  it('refuses a literal impossible time as a validation error', async () => {
    const res = await server.gql(
      `mutation { recordEvents(events: [{clientEventId: "lit", type: VIEW, userId: "shop:u1", itemId: "shop:1", occurredAt: "2024-02-30T00:00:00Z"}]) { accepted } }`,
    );
    expect(res.status).toBe(400);
    expect(res.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(res.errors?.[0]?.message).toMatch(/not a time of the calendar/);
  });

  it.each(['9999-12-31T00:00:00Z', '0001-01-01T00:00:00Z', '2024-02-30T00:00:00Z'])(
    'refuses interestForecast recentEvents with occurredAt %s',
    async (occurredAt) => {
      const res = await server.gql(
        `query($e: [AnonymousEventInput!]) { interestForecast(recentEvents: $e) { id } }`,
        { e: [{ itemId: 'shop:1', type: 'VIEW', occurredAt }] },
      );
      expect(res.status).toBe(400);
      expect(res.errors?.[0]?.extensions).toMatchObject({
        code: 'BAD_USER_INPUT',
        field: 'e[0].occurredAt',
      });
    },
  );

  it.each(['2024-02-30', '9999-12-31', '0001-01-01', '1989-12-31', '2024-02-31'])(
    'refuses trending asOf %s instead of echoing it or failing in SQL',
    async (asOf) => {
      const res = await server.gql(TRENDING, { asOf });
      expect(res.status).toBe(400);
      expect(res.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'asOf' });
      const literal = await server.gql(
        `{ trendingItems(dataset: "shop", asOf: "${asOf}") { asOf } }`,
      );
      expect(literal.status).toBe(400);
      expect(literal.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
    },
  );

  it.each(['0001-01-01T00:00:00Z', '9999-12-31T00:00:00Z'])(
    'refuses forecastOutcomes since/until %s',
    async (t) => {
      for (const arg of ['since', 'until']) {
        const res = await server.gql(
          `query($t: DateTime) { forecastOutcomes(${arg}: $t) { forecasts } }`,
          { t },
        );
        expect(res.status).toBe(400);
        expect(res.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 't' });
      }
    },
  );

  it('answers trending over a database that stored out-of-range times before the policy', async () => {
    const sql = (clientEventId: string, item: string, at: string) =>
      db.query(
        `INSERT INTO events (client_event_id, dataset, user_id, type, item_id, occurred_at, seq)
         VALUES ($1, 'shop', 'shop:u1', 'VIEW', $2, $3::timestamptz, 0)`,
        [clientEventId, item, at],
      );
    await db.query(
      `INSERT INTO users (id, dataset) VALUES ('shop:u1', 'shop') ON CONFLICT DO NOTHING`,
    );
    await sql('poison-late', 'shop:2', '9999-12-31T00:00:00Z');
    await sql('poison-early', 'shop:2', '0001-01-01T00:00:00Z');
    await sql('fine', 'shop:1', '2026-01-05T10:00:00Z');
    const res = await server.gql(TRENDING);
    expect(res.errors).toBeUndefined();
    expect(res.data.items.asOf).toBe(res.data.categories.asOf);
    expect(res.data.items.asOf >= '2026-01-05').toBe(true);
    expect(res.data.items.asOf <= latestDay()).toBe(true);
    const timeline = await server.gql(
      `{ user(id: "shop:u1") { interestTimeline(bucket: MONTH) { buckets { start eventCount } } } }`,
    );
    expect(timeline.errors).toBeUndefined();
    // (PGlite's driver reads year 1 back as 2001; node-postgres as year 1.)
    expect(timeline.data.user.interestTimeline.buckets.length).toBeGreaterThan(1);
  });

  it('rejects DIGINETICA rows whose day is not of the calendar or out of range, with file:line', async () => {
    const dir = await dirs.make();
    const file = path.join(dir, 'train-purchases.csv');
    await writeFile(
      file,
      [
        'sessionId;userId;timeframe;eventdate;ordernumber;itemId',
        '1;NA;5;2016-02-30;9;81766',
        '2;NA;5;9999-12-31;10;81766',
        '3;NA;5;0001-01-01;11;81766',
        '4;NA;5;1989-12-31;12;81766',
        '5;NA;5;2016-5-06;13;81766',
        '6;NA;5;2016-05-06;14;81766',
      ].join('\n') + '\n',
    );
    const report = await importDiginetica(db, [file]);
    expect(report.rejections).toEqual([
      `${file}:2: eventdate "2016-02-30" is not a day of the calendar`,
      `${file}:3: eventdate "9999-12-31" is after today (${latestDay()}, UTC)`,
      `${file}:4: eventdate "0001-01-01" is before 1990-01-01, the earliest day accepted`,
      `${file}:5: eventdate "1989-12-31" is before 1990-01-01, the earliest day accepted`,
      `${file}:6: eventdate must be a YYYY-MM-DD day, got "2016-5-06"`,
    ]);
    expect(report.counts.events.inserted).toBe(1);
    const { rows } = await db.query<{ day: string }>(
      `SELECT to_char(occurred_on, 'YYYY-MM-DD') AS day FROM events WHERE dataset = 'diginetica'`,
    );
    expect(rows).toEqual([{ day: '2016-05-06' }]);
  });
});
