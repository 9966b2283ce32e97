// Shoppers the model cannot read yet, over HTTP with the shipped model: the context item, the
// context category, the profile segment, the dataset, its catalogue and every dataset serve
// them in that order, and the forecast names the strategy that served it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends } from '../helpers/backends.js';
import { openForecastFixture, type ForecastFixture } from '../helpers/forecast.js';

const FORECAST = `query($u: ID!, $first: Int, $mode: ForecastMode, $context: ForecastContext, $filter: ForecastFilter) {
  interestForecast(userId: $u, first: $first, mode: $mode, context: $context, filter: $filter, explain: true) {
    id mode strategy strategyDetail basedOnEvents
    items { rank score item { id categories { id } } reasons { kind message } }
  }
}`;
const UPSERT_USER = `mutation($input: UserInput!) { upsertUser(input: $input) { id dataset profile } }`;
const UPSERT_ITEM = `mutation($input: ItemInput!) { upsertItem(input: $input) { id } }`;
const RECORD = `mutation($events: [EventInput!]!) { recordEvents(events: $events) { accepted } }`;

interface Fc {
  id: string;
  mode: string;
  strategy: string;
  strategyDetail: string | null;
  basedOnEvents: number;
  items: {
    rank: number;
    score: number;
    item: { id: string; categories: { id: string }[] };
    reasons: { kind: string; message: string }[];
  }[];
}

describe.each(backends)('cold-start shoppers on $name', (backend) => {
  let f: ForecastFixture;
  beforeAll(async () => {
    f = await openForecastFixture(backend, { users: 80 });
  }, 120_000);
  afterAll(async () => {
    await f?.close();
  });

  async function ok<D>(query: string, vars: Record<string, unknown>): Promise<D> {
    const res = await f.server.gql<D>(query, vars);
    expect(res.errors).toBeUndefined();
    return res.data as D;
  }
  const forecast = async (vars: Record<string, unknown>) =>
    (await ok<{ interestForecast: Fc }>(FORECAST, { first: 10, ...vars })).interestForecast;
  const newUser = (id: string, profile: Record<string, unknown> = {}) =>
    ok(UPSERT_USER, { input: { id, profile } });

  it('serves a shopper without events from the dataset popularity and says so', async () => {
    await newUser('beauty:newbie');
    const fc = await forecast({ u: 'beauty:newbie' });
    expect(fc.strategy).toBe('DATASET_POPULARITY');
    expect(fc.mode).toBe('POPULARITY');
    expect(fc.strategyDetail).toMatch(/most interacted items of beauty/);
    const baseline = await forecast({ u: 'beauty:newbie', mode: 'POPULARITY' });
    expect(fc.items.map((i) => i.item.id)).toEqual(baseline.items.map((i) => i.item.id));
    expect(fc.items).toHaveLength(10);
    expect(fc.items[0]!.reasons[0]!.kind).toBe('POPULAR');
    const { rows } = await f.db.query<{ strategy: string }>(
      'SELECT strategy FROM forecasts WHERE id = $1',
      [fc.id],
    );
    expect(rows[0]!.strategy).toBe('DATASET_POPULARITY');
  });

  it('serves a known shopper with the sequence model', async () => {
    const fc = await forecast({ u: `beauty:${f.lines[0]!.split(' ')[0]}` });
    expect(fc.strategy).toBe('SEQUENCE_MODEL');
    expect(fc.mode).toBe('MODEL');
    expect(fc.strategyDetail).toBeNull();
  });

  it("ranks by the popularity of the shopper's profile segment", async () => {
    // Shoppers in Germany bought from a small, fixed set of items (real Beauty items of the
    // slice), 24 interactions in all: item k bought 6 − k times... more than the dataset's top.
    const items = f.lines.slice(40, 44).map((l) => `beauty:${l.split(' ')[1]}`);
    const events: Record<string, unknown>[] = [];
    for (let u = 0; u < 4; u++) {
      await newUser(`beauty:de${u}`, { country: 'DE' });
      items.forEach((itemId, k) => {
        for (let n = 0; n < 4 - k; n++)
          events.push({
            clientEventId: `de${u}-${k}-${n}`,
            type: 'VIEW',
            userId: `beauty:de${u}`,
            itemId,
          });
      });
    }
    await ok(RECORD, { events }); // 4 users × (4 + 3 + 2 + 1) = 40 interactions
    await newUser('beauty:new-de', { country: 'DE', tier: 'gold' });
    const fc = await forecast({ u: 'beauty:new-de', first: 4, filter: { excludeSeen: false } });
    expect(fc.strategy).toBe('SEGMENT_POPULARITY');
    // the whole profile {country, tier} has no interactions: the single attribute serves
    expect(fc.strategyDetail).toContain('{"country":"DE"}');
    expect(fc.strategyDetail).toContain('40 interactions');
    expect(fc.items.map((i) => i.item.id)).toEqual(items);
    expect(fc.items.map((i) => i.score)).toEqual([16, 12, 8, 4]);
    // A segment below 20 interactions is not used.
    await newUser('beauty:new-fr', { country: 'FR' });
    expect((await forecast({ u: 'beauty:new-fr' })).strategy).toBe('DATASET_POPULARITY');
  });

  it('ranks by the context category, and fills from the dataset when it runs out', async () => {
    await newUser('beauty:browser');
    const { rows } = await f.db.query<{ category_id: string; n: number }>(
      `SELECT ic.category_id, count(DISTINCT e.item_id)::int AS n FROM events e
       JOIN item_categories ic ON ic.item_id = e.item_id
       WHERE e.dataset = 'beauty' GROUP BY ic.category_id HAVING count(DISTINCT e.item_id) BETWEEN 3 AND 8
       ORDER BY 2 DESC, 1 LIMIT 1`,
    );
    const { category_id: category, n } = rows[0]!;
    const fc = await forecast({
      u: 'beauty:browser',
      first: 20,
      context: { categoryId: category },
    });
    expect(fc.strategy).toBe('CATEGORY_POPULARITY');
    expect(fc.items).toHaveLength(20);
    const inCategory = fc.items.filter((i) => i.item.categories.some((c) => c.id === category));
    // its interacted items come first (in stock: all of the slice are), the dataset fills the rest
    expect(
      fc.items.slice(0, n).every((i) => i.item.categories.some((c) => c.id === category)),
    ).toBe(true);
    expect(inCategory.length).toBeGreaterThanOrEqual(n);
    expect(fc.items[n]!.reasons[0]!.message).toMatch(/most interacted items of beauty/);
    for (let k = 1; k < n; k++)
      expect(fc.items[k]!.score).toBeLessThanOrEqual(fc.items[k - 1]!.score);
  });

  it('serves a first-time anonymous visitor from the category on screen', async () => {
    const { rows } = await f.db.query<{ category_id: string }>(
      `SELECT category_id FROM item_categories ORDER BY category_id LIMIT 1`,
    );
    const res = await ok<{ interestForecast: Fc }>(
      `query($c: ID!) { interestForecast(recentEvents: [], first: 3, context: { categoryId: $c }) {
        id mode strategy strategyDetail basedOnEvents items { rank score item { id categories { id } } reasons { kind message } } } }`,
      { c: rows[0]!.category_id },
    );
    expect(res.interestForecast.strategy).toBe('CATEGORY_POPULARITY');
    expect(res.interestForecast.basedOnEvents).toBe(0);
    for (const i of res.interestForecast.items)
      expect(i.item.categories.map((c) => c.id)).toContain(rows[0]!.category_id);
  });

  it('serves the model from the context item alone, leaving that item out', async () => {
    await newUser('beauty:viewer');
    const itemId = `beauty:${f.lines[3]!.split(' ')[1]}`;
    const fc = await forecast({ u: 'beauty:viewer', context: { itemId } });
    expect(fc.strategy).toBe('CONTEXT_ITEM_MODEL');
    expect(fc.mode).toBe('MODEL');
    expect(fc.basedOnEvents).toBe(1);
    expect(fc.items.map((i) => i.item.id)).not.toContain(itemId);
    // The same as an anonymous visitor who viewed it.
    const anon = await ok<{ interestForecast: { items: { item: { id: string } }[] } }>(
      `query($e: [AnonymousEventInput!]) { interestForecast(recentEvents: $e, first: 10) { items { item { id } } } }`,
      { e: [{ itemId, type: 'VIEW' }] },
    );
    expect(fc.items.map((i) => i.item.id)).toEqual(
      anon.interestForecast.items.map((i) => i.item.id),
    );
    // With history, the context joins it as the newest event.
    const u = `beauty:${f.lines[5]!.split(' ')[0]}`;
    const withCtx = await forecast({ u, context: { itemId } });
    expect(withCtx.strategy).toBe('SEQUENCE_MODEL');
    expect(withCtx.basedOnEvents).toBe((await forecast({ u })).basedOnEvents + 1);
  });

  it('serves a new shop from its catalogue, and a shop without products from every dataset', async () => {
    await ok(UPSERT_ITEM, { input: { id: 'newshop:p1', title: 'Kettle', price: 30 } });
    await ok(UPSERT_ITEM, { input: { id: 'newshop:p2', title: 'Teapot', price: 20 } });
    await newUser('newshop:u1');
    const fc = await forecast({ u: 'newshop:u1' });
    expect(fc.strategy).toBe('CATALOGUE');
    expect(fc.items.map((i) => i.item.id)).toEqual(['newshop:p2', 'newshop:p1']);
    // Filters still apply: nothing of the shop passes, and no other shop's product is served.
    expect((await forecast({ u: 'newshop:u1', filter: { minPrice: 100 } })).items).toEqual([]);
    await newUser('emptyshop:u1');
    const global = await forecast({ u: 'emptyshop:u1' });
    expect(global.strategy).toBe('GLOBAL_POPULARITY');
    expect(global.items).toHaveLength(10);
  });

  it('rejects unknown context ids and bad profiles with BAD_USER_INPUT, writing nothing', async () => {
    for (const [context, field] of [
      [{ itemId: 'beauty:nope' }, 'context.itemId'],
      [{ categoryId: 'beauty:nope' }, 'context.categoryId'],
    ] as const) {
      const res = await f.server.gql(FORECAST, { u: 'beauty:newbie', first: 5, context });
      expect(res.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
      expect(res.errors?.[0]?.message).toMatch(new RegExp(`^${field.replace('.', '\\.')}:`));
      expect(res.errors?.[0]?.extensions?.field).toBe(field);
    }
    await newUser('beauty:keep', { country: 'DE' });
    const before = await f.db.query('SELECT count(*)::int AS n FROM users');
    const bad: [unknown, string][] = [
      [[1, 2], 'input.profile'],
      ['text', 'input.profile'],
      [{ 'bad key': 1 }, 'input.profile'],
      [{ nested: { a: 1 } }, 'input.profile.nested'],
      [{ long: 'x'.repeat(201) }, 'input.profile.long'],
      [Object.fromEntries(Array.from({ length: 33 }, (_, k) => [`k${k}`, k])), 'input.profile'],
    ];
    for (const [profile, field] of bad) {
      for (const id of ['beauty:keep', 'beauty:never-created']) {
        const res = await f.server.gql(UPSERT_USER, { input: { id, profile } });
        const err = res.errors?.[0];
        expect(err?.extensions?.code).toBe('BAD_USER_INPUT');
        // a non-object fails the JSON scalar's coercion, whose message names the path
        expect(err?.extensions?.field ?? err?.message.match(/at "([^"]+)"/)?.[1]).toBe(field);
      }
    }
    const after = await f.db.query('SELECT count(*)::int AS n FROM users');
    expect(after.rows).toEqual(before.rows);
    const kept = await f.db.query<{ profile: unknown }>('SELECT profile FROM users WHERE id = $1', [
      'beauty:keep',
    ]);
    expect(kept.rows[0]!.profile).toEqual({ country: 'DE' });
  });
});
