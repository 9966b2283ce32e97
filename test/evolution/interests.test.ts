// Interest timelines, drift and trends over HTTP, on real data: a Beauty slice (no times:
// positional buckets) and the DIGINETICA excerpts (real days), on both back-ends.
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../src/db/client.js';
import { importAmazon } from '../../src/import/amazon.js';
import { importDiginetica } from '../../src/import/diginetica.js';
import { backends } from '../helpers/backends.js';
import { beautySlice, tempDir } from '../helpers/fixtures.js';
import { startServer, type TestServer } from '../helpers/server.js';

const DIR = path.resolve('test/fixtures/diginetica');
const FILES = ['product-categories.csv', 'train-purchases.csv', 'sample-train-item-views.csv'].map(
  (f) => path.join(DIR, f),
);

const TIMELINE = `query($u: ID!, $b: TimelineBucket, $size: Int, $last: Int) {
  user(id: $u) { interestTimeline(bucket: $b, size: $size, last: $last) {
    bucket size readEvents undatedEvents
    buckets { start end firstPosition lastPosition eventCount categorisedEvents
              categories(first: 50) { share weight category { id } } }
  } }
}`;
const DRIFT = `query($u: ID!, $recent: Int) {
  user(id: $u) { interestDrift(recent: $recent) {
    score migrating threshold recentEvents longTermEvents
    gained { category { id } recentShare longTermShare change }
    lost { category { id } recentShare longTermShare change }
  } }
}`;
const TRENDING = `query($d: String!, $w: Int, $first: Int, $min: Int, $asOf: Date) {
  trendingCategories(dataset: $d, window: $w, first: $first, minSupport: $min, asOf: $asOf) {
    dataset window asOf recentFrom previousFrom recentInteractions previousInteractions
    categories { category { id } recentCount previousCount recentShare previousShare growth }
  }
}`;
const TRENDING_ITEMS = `query($d: String!, $w: Int, $min: Int) {
  trendingItems(dataset: $d, window: $w, first: 100, minSupport: $min) {
    recentInteractions items { item { id } recentCount previousCount growth }
  }
}`;
const RECORD = `mutation($events: [EventInput!]!) { recordEvents(events: $events) { accepted } }`;

interface Bucket {
  start: string | null;
  end: string | null;
  firstPosition: number;
  lastPosition: number;
  eventCount: number;
  categorisedEvents: number;
  categories: { share: number; weight: number; category: { id: string } }[];
}

describe.each(backends)('interest evolution on $name', (backend) => {
  let db: Db;
  let dispose: () => Promise<void>;
  let server: TestServer;
  let lines: string[];
  beforeAll(async () => {
    ({ db, dispose } = await backend.open());
    const slice = await beautySlice(60);
    lines = slice.lines;
    await importAmazon(db, { sequences: [slice.sequences], attributes: [slice.attributes] });
    await importDiginetica(db, FILES);
    server = await startServer(db);
  }, 120_000);
  afterAll(async () => {
    await server?.close();
    await dispose?.();
  });

  async function ok<D>(query: string, vars: Record<string, unknown>): Promise<D> {
    const res = await server.gql<D>(query, vars);
    expect(res.errors).toBeUndefined();
    return res.data as D;
  }
  const timeline = async (vars: Record<string, unknown>) =>
    (
      await ok<{
        user: {
          interestTimeline: {
            bucket: string;
            size: number | null;
            readEvents: number;
            undatedEvents: number;
            buckets: Bucket[];
          };
        };
      }>(TIMELINE, vars)
    ).user.interestTimeline;

  /** Categories of each item, from the database the server reads. */
  async function categoriesOf(items: string[]): Promise<Map<string, string[]>> {
    const { rows } = await db.query<{ item_id: string; category_id: string }>(
      `SELECT item_id, category_id FROM item_categories WHERE item_id = ANY($1::text[])`,
      [items],
    );
    const out = new Map<string, string[]>();
    for (const r of rows) out.set(r.item_id, [...(out.get(r.item_id) ?? []), r.category_id]);
    return out;
  }

  it('buckets an Amazon history by position: buckets sum to its events, shares to 1', async () => {
    // the longest history of the slice
    const line = [...lines].sort((a, b) => b.split(' ').length - a.split(' ').length)[0]!;
    const [user, ...items] = line.split(' ');
    const t = await timeline({ u: `beauty:${user}`, b: 'EVENTS', size: 3, last: 100 });
    expect(t.bucket).toBe('EVENTS');
    expect(t.size).toBe(3);
    expect(t.readEvents).toBe(items.length);
    expect(t.buckets.reduce((a, b) => a + b.eventCount, 0)).toBe(items.length);
    expect(t.buckets.length).toBe(Math.ceil(items.length / 3));
    t.buckets.forEach((b, k) => {
      expect(b.start).toBeNull();
      expect(b.firstPosition).toBe(3 * k + 1);
      expect(b.lastPosition).toBe(Math.min(3 * k + 3, items.length));
      expect(b.categories.reduce((a, c) => a + c.share, 0)).toBeCloseTo(1, 6);
    });
    // The weights of the first bucket, recomputed from the items' categories (1/k each).
    const cats = await categoriesOf(items.slice(0, 3).map((i) => `beauty:${i}`));
    const expected = new Map<string, number>();
    for (const i of items.slice(0, 3)) {
      const cs = cats.get(`beauty:${i}`) ?? [];
      for (const c of cs) expected.set(c, (expected.get(c) ?? 0) + 1 / cs.length);
    }
    const got = new Map(t.buckets[0]!.categories.map((c) => [c.category.id, c.weight]));
    expect([...got.keys()].sort()).toEqual([...expected.keys()].sort());
    for (const [c, w] of expected) expect(got.get(c)).toBeCloseTo(w, 9);
    // `last` keeps the newest buckets, oldest first.
    const tail = await timeline({ u: `beauty:${user}`, b: 'EVENTS', size: 3, last: 2 });
    expect(tail.buckets).toEqual(t.buckets.slice(-2));
  });

  it('never invents dates: calendar buckets of an Amazon history are empty, its events undated', async () => {
    const [user, ...items] = lines[0]!.split(' ');
    const t = await timeline({ u: `beauty:${user}`, b: 'WEEK' });
    expect(t.buckets).toEqual([]);
    expect(t.undatedEvents).toBe(items.length);
  });

  it('buckets a DIGINETICA history by ISO week and by day on its real event days', async () => {
    const { rows } = await db.query<{ user_id: string; n: number; days: string[] }>(
      `SELECT user_id, count(*)::int AS n,
              array_agg(to_char(occurred_on, 'YYYY-MM-DD') ORDER BY occurred_on) AS days
       FROM events WHERE dataset = 'diginetica' AND user_id IS NOT NULL
       GROUP BY user_id ORDER BY count(DISTINCT occurred_on) DESC, user_id LIMIT 1`,
    );
    const { user_id: user, n, days } = rows[0]!;
    const week = await timeline({ u: user, b: 'WEEK', last: 100 });
    expect(week.undatedEvents).toBe(0);
    expect(week.buckets.reduce((a, b) => a + b.eventCount, 0)).toBe(n);
    for (const b of week.buckets) {
      const start = new Date(b.start!);
      expect(start.getUTCDay()).toBe(1); // Monday
      expect(new Date(b.end!).getTime() - start.getTime()).toBe(7 * 86_400_000);
      const inside = days.filter((d) => d >= b.start!.slice(0, 10) && d < b.end!.slice(0, 10));
      expect(b.eventCount).toBe(inside.length);
    }
    const day = await timeline({ u: user, b: 'DAY', last: 100 });
    expect(day.buckets.map((b) => b.start!.slice(0, 10))).toEqual([...new Set(days)]);
  });

  it('gives a session its own timeline, numbered within the session', async () => {
    const { rows } = await db.query<{ session_id: string; n: number }>(
      `SELECT session_id, count(*)::int AS n FROM events WHERE dataset = 'diginetica'
       GROUP BY session_id ORDER BY count(*) DESC, session_id LIMIT 1`,
    );
    const res = await ok<{
      session: { interestTimeline: { buckets: Bucket[] } };
    }>(
      `query($s: ID!) { session(id: $s) { interestTimeline(bucket: EVENTS, size: 2, last: 100) {
        buckets { firstPosition lastPosition eventCount } } } }`,
      { s: rows[0]!.session_id },
    );
    const b = res.session.interestTimeline.buckets;
    expect(b.reduce((a, x) => a + x.eventCount, 0)).toBe(rows[0]!.n);
    expect(b[0]!.firstPosition).toBe(1);
    expect(b[b.length - 1]!.lastPosition).toBe(rows[0]!.n);
  });

  /** Beauty items of the slice with exactly one category each, grouped by that category. */
  async function singleCategoryItems(): Promise<[string, string[]][]> {
    const { rows } = await db.query<{ category_id: string; items: string[] }>(
      `SELECT category_id, array_agg(item_id ORDER BY item_id) AS items FROM item_categories
       WHERE item_id IN (SELECT item_id FROM item_categories WHERE item_id LIKE 'beauty:%'
                         GROUP BY item_id HAVING count(*) = 1)
       GROUP BY category_id ORDER BY count(*) DESC, category_id LIMIT 3`,
    );
    return rows.map((r) => [r.category_id, r.items]);
  }

  async function record(user: string, items: string[]) {
    await ok(RECORD, {
      events: items.map((itemId, k) => ({
        clientEventId: `${user}:${k}:${Math.random()}`,
        type: 'VIEW',
        userId: user,
        itemId,
      })),
    });
  }
  const drift = async (u: string, recent = 10) =>
    (
      await ok<{
        user: {
          interestDrift: {
            score: number;
            migrating: boolean;
            threshold: number;
            recentEvents: number;
            longTermEvents: number;
            gained: { category: { id: string }; change: number }[];
            lost: { category: { id: string }; change: number }[];
          } | null;
        };
      }>(DRIFT, { u, recent })
    ).user.interestDrift;

  it('scores drift 0 when the recent window matches the history, and higher as it moves away', async () => {
    const groups = await singleCategoryItems();
    expect(groups).toHaveLength(3);
    const [a, itemsA] = groups[0]!;
    const [b, itemsB] = groups[1]!;
    const alternate = (n: number) =>
      Array.from({ length: n }, (_, k) => (k % 2 ? itemsB![0]! : itemsA![0]!));
    // 20 events alternating A/B, then 10 more alternating: same proportions.
    await record('beauty:drift-same', alternate(30));
    const same = await drift('beauty:drift-same');
    expect(same!.score).toBeCloseTo(0, 12);
    expect(same!.migrating).toBe(false);
    expect(same!.recentEvents).toBe(10);
    expect(same!.longTermEvents).toBe(20);
    expect(same!.gained).toEqual([]);

    // 20 alternating, then a recent window whose share of B is 0.6, 0.8, 1: the score grows.
    const scores: number[] = [];
    for (const k of [2, 6, 10]) {
      const u = `beauty:drift-${k}`;
      await record(u, [...alternate(20), ...alternate(10 - k), ...Array(k).fill(itemsB![0])]);
      scores.push((await drift(u))!.score);
    }
    expect(scores[0]).toBeGreaterThan(0);
    expect(scores[1]).toBeGreaterThan(scores[0]!);
    expect(scores[2]).toBeGreaterThan(scores[1]!);

    // Moving wholly to a category never seen before.
    const [c, itemsC] = groups[2]!;
    await record('beauty:drift-new', [...alternate(20), ...Array(10).fill(itemsC![0])]);
    const moved = await drift('beauty:drift-new');
    expect(moved!.score).toBeGreaterThan(0.5);
    expect(moved!.score).toBeLessThanOrEqual(1);
    expect(moved!.migrating).toBe(moved!.score >= moved!.threshold);
    expect(moved!.gained.map((g) => g.category.id)).toEqual([c]);
    expect(moved!.gained[0]!.change).toBeCloseTo(1, 9);
    expect(moved!.lost.map((l) => l.category.id).sort()).toEqual([a, b].sort());
    expect(moved!.lost.every((l) => Math.abs(l.change + 0.5) < 1e-9)).toBe(true);
  });

  it('has no drift without a long-term window, and rejects a window out of range', async () => {
    const [, itemsA] = (await singleCategoryItems())[0]!;
    await record('beauty:drift-short', Array(11).fill(itemsA![0]));
    expect(await drift('beauty:drift-short')).toBeNull(); // 1 long-term event < 3
    const res = await server.gql(DRIFT, { u: 'beauty:drift-short', recent: 0 });
    expect(res.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'recent' });
    // The default window is 5 events: 11 events leave a long-term window of 6.
    const d = await ok<{
      user: {
        interestDrift: {
          recentEvents: number;
          longTermEvents: number;
          threshold: number;
          migrating: boolean;
        };
      };
    }>(
      `query($u: ID!, $t: Float) { user(id: $u) { interestDrift(threshold: $t) { recentEvents longTermEvents threshold migrating } } }`,
      { u: 'beauty:drift-short', t: 0 },
    );
    expect(d.user.interestDrift).toEqual({
      recentEvents: 5,
      longTermEvents: 6,
      threshold: 0,
      migrating: true,
    });
    const bad = await server.gql(
      `query($u: ID!) { user(id: $u) { interestDrift(threshold: 1.5) { score } } }`,
      { u: 'beauty:drift-short' },
    );
    expect(bad.errors?.[0]?.extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      field: 'threshold',
    });
  });

  /** DIGINETICA events per category and day, counted from the fixture files. */
  async function fixtureCounts(): Promise<{ day: string; cats: string[] }[]> {
    const read = async (f: string) =>
      (await readFile(path.join(DIR, f), 'utf8'))
        .split('\n')
        .slice(1)
        .filter((l) => l.trim())
        .map((l) => l.split(';'));
    const catOf = new Map<string, string[]>();
    for (const [item, cat] of await read('product-categories.csv'))
      catOf.set(item!, [...(catOf.get(item!) ?? []), `diginetica:c${cat}`]);
    const events = [
      ...(await read('train-purchases.csv')).map((r) => ({ day: r[3]!, item: r[5]! })),
      ...(await read('sample-train-item-views.csv')).map((r) => ({ day: r[4]!, item: r[2]! })),
    ];
    return events.map((e) => ({ day: e.day, cats: catOf.get(e.item) ?? [] }));
  }

  it('ranks DIGINETICA categories by share growth between two windows of real days, with support', async () => {
    const events = await fixtureCounts();
    const newest = events
      .map((e) => e.day)
      .sort()
      .at(-1)!;
    const window = 28;
    const res = await ok<{ trendingCategories: any }>(TRENDING, {
      d: 'diginetica',
      w: window,
      first: 100,
      min: 3,
    });
    const t = res.trendingCategories;
    expect(t.asOf).toBe(newest);
    const day = (d: string, n: number) =>
      new Date(Date.parse(`${d}T00:00:00Z`) + n * 86_400_000).toISOString().slice(0, 10);
    expect(t.recentFrom).toBe(day(newest, 1 - window));
    expect(t.previousFrom).toBe(day(newest, 1 - 2 * window));
    const recent = events.filter((e) => e.day >= t.recentFrom && e.day <= newest);
    const previous = events.filter((e) => e.day >= t.previousFrom && e.day < t.recentFrom);
    expect(t.recentInteractions).toBe(recent.length);
    expect(t.previousInteractions).toBe(previous.length);
    const count = (es: typeof events, c: string) => es.filter((e) => e.cats.includes(c)).length;
    expect(t.categories.length).toBeGreaterThan(0);
    for (const c of t.categories) {
      expect(c.recentCount).toBe(count(recent, c.category.id));
      expect(c.previousCount).toBe(count(previous, c.category.id));
      expect(c.recentCount).toBeGreaterThanOrEqual(3);
      expect(c.growth).toBeCloseTo(
        (c.recentCount + 1) / (recent.length + 1) / ((c.previousCount + 1) / (previous.length + 1)),
        9,
      );
    }
    for (let k = 1; k < t.categories.length; k++)
      expect(t.categories[k].growth).toBeLessThanOrEqual(t.categories[k - 1].growth);
    // Every category with the support is listed (first: 100 is more than there are).
    const supported = new Set(recent.flatMap((e) => e.cats));
    const eligible = [...supported].filter((c) => count(recent, c) >= 3);
    expect(t.categories.length).toBe(Math.min(100, eligible.length));
    // A higher support bar only removes categories.
    const strict = (
      await ok<{ trendingCategories: any }>(TRENDING, {
        d: 'diginetica',
        w: window,
        first: 100,
        min: 6,
      })
    ).trendingCategories;
    expect(strict.categories.every((c: any) => c.recentCount >= 6)).toBe(true);
    expect(strict.categories.length).toBeLessThan(t.categories.length);
  });

  it('ranks items, and reads a window ending on a given day', async () => {
    const res = await ok<{ trendingItems: any }>(TRENDING_ITEMS, {
      d: 'diginetica',
      w: 14,
      min: 2,
    });
    expect(res.trendingItems.items.every((i: any) => i.recentCount >= 2)).toBe(true);
    const events = await fixtureCounts();
    const first = events.map((e) => e.day).sort()[0]!;
    const early = await ok<{ trendingCategories: any }>(TRENDING, {
      d: 'diginetica',
      w: 1,
      min: 1,
      asOf: first,
    });
    expect(early.trendingCategories.asOf).toBe(first);
    expect(early.trendingCategories.previousInteractions).toBe(0);
    expect(early.trendingCategories.recentInteractions).toBe(
      events.filter((e) => e.day === first).length,
    );
  });

  it('answers a repeated trend request from the server cache, without reading events', async () => {
    const vars = { d: 'diginetica', w: 21, min: 4 };
    const eventReads = async (fn: () => Promise<unknown>) => {
      const sent: string[] = [];
      const off = db.onQuery((sql) => sent.push(sql));
      await fn().finally(off);
      return sent.filter((sql) => sql.includes('FROM events')).length;
    };
    const first = await ok(TRENDING, vars);
    expect(await eventReads(async () => expect(await ok(TRENDING, vars)).toEqual(first))).toBe(0);
    // another window is its own entry: the day probe and the window counts
    expect(await eventReads(() => ok(TRENDING, { ...vars, w: 22 }))).toBe(2);
  });

  it('rejects bad trend arguments with BAD_USER_INPUT naming the argument', async () => {
    // A dataset whose events have no dates (Amazon's format; Beauty has dated ones by now: the
    // drift tests above recorded some through the API)
    const dir = await tempDir();
    await writeFile(path.join(dir, 'Undated.txt'), '1 2 3\n2 3 4\n');
    await importAmazon(db, { sequences: [path.join(dir, 'Undated.txt')], attributes: [] });
    const cases: [Record<string, unknown>, string][] = [
      [{ d: 'diginetica', w: 0 }, 'window'],
      [{ d: 'diginetica', w: -3 }, 'window'],
      [{ d: 'diginetica', first: 0 }, 'first'],
      [{ d: 'diginetica', min: 0 }, 'minSupport'],
      [{ d: 'nosuchshop' }, 'dataset'],
      [{ d: 'undated' }, 'dataset'], // no dated events
    ];
    for (const [vars, field] of cases) {
      const res = await server.gql(TRENDING, vars);
      expect(res.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field });
    }
    const bucket = await server.gql(TIMELINE, { u: 'beauty:1', b: 'YEAR' });
    expect(bucket.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(bucket.errors?.[0]?.message).toContain('TimelineBucket');
    for (const [vars, field] of [
      [{ b: 'EVENTS', size: 0 }, 'size'],
      [{ b: 'EVENTS', last: 101 }, 'last'],
    ] as const) {
      const res = await server.gql(TIMELINE, { u: `beauty:${lines[0]!.split(' ')[0]}`, ...vars });
      expect(res.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field });
    }
  });

  it('reads trends through the day index, not a scan of the event log', async () => {
    // The statements the trending request sends, EXPLAINed with its own parameters.
    const sent: string[] = [];
    const off = db.onQuery((sql) => sent.push(sql));
    const t = (
      await ok<{ trendingCategories: any }>(TRENDING, { d: 'diginetica', w: 7 }).finally(off)
    ).trendingCategories;
    const counts = sent.find((s) => s.includes('FILTER (WHERE recent)'))!;
    expect(counts).toBeDefined();
    const end = new Date(Date.parse(`${t.asOf}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);
    const plan = await db.transaction(async (tx) => {
      await tx.query('ANALYZE events');
      // The fixture is tiny, so a sequential scan would be cheaper: show that the index path
      // exists and is the one taken when scans are priced out, as they are on a real log.
      await tx.query('SET LOCAL enable_seqscan = off');
      const { rows } = await tx.query<{ 'QUERY PLAN': string }>(`EXPLAIN ${counts}`, [
        'diginetica',
        t.previousFrom,
        t.recentFrom,
        end,
        10, // minSupport's default
        10, // first's default
      ]);
      return rows.map((r) => r['QUERY PLAN']).join('\n');
    });
    expect(plan).toContain('events_dataset_day_idx');
    expect(plan).not.toMatch(/Seq Scan on events/);
  });
});
