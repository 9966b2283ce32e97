// WISHLIST end to end: recorded through recordEvents (the importer's side is
// test/import/shop.test.ts), read back, and served by models trained before the type existed.
// Such a model feeds it as <unknown> (index 1), exactly as any type it never saw: the shipped
// DIGINETICA model saw VIEW and PURCHASE, so a WISHLIST encodes as a CART (also unseen) does and
// not as a VIEW; the Beauty model saw no types at all, so WISHLIST and VIEW serve alike.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Model } from '../../src/inference/model.js';
import { backends } from '../helpers/backends.js';
import { openForecastFixture, type ForecastFixture } from '../helpers/forecast.js';
import type { GqlResponse } from '../helpers/server.js';

const RECORD = `mutation($e: [EventInput!]!) { recordEvents(events: $e) {
  accepted results { event { type sequence item { id } } } } }`;
const ANONYMOUS = `query($e: [AnonymousEventInput!]) { interestForecast(recentEvents: $e, first: 10) {
  strategy items { score item { id } } } }`;

describe('a model trained before WISHLIST', () => {
  let model: Model;
  beforeAll(async () => {
    model = await Model.load('models/diginetica', 'cpu', 1);
  });
  afterAll(async () => model?.release());

  it('encodes WISHLIST as <unknown>: as an unseen CART, unlike a seen VIEW', async () => {
    expect(model.manifest.eventTypes).not.toContain('WISHLIST');
    expect(model.manifest.observed?.eventTypes).toEqual(['VIEW', 'PURCHASE']);
    const items = (
      JSON.parse(readFileSync('models/diginetica/vocab.json', 'utf8')) as { items: string[] }
    ).items.slice(0, 3);
    const at = (m: number) => new Date(Date.UTC(2016, 4, 9, 10, m));
    const history = (last: string) => [
      { itemId: items[0]!, type: 'VIEW', occurredAt: at(0) },
      { itemId: items[1]!, type: 'VIEW', occurredAt: at(2) },
      { itemId: items[2]!, type: last, occurredAt: at(3) },
    ];
    const [wishlist, cart, view] = await model.encode([
      history('WISHLIST'),
      history('CART'),
      history('VIEW'),
    ]);
    expect([...wishlist!.userState]).toEqual([...cart!.userState]);
    expect([...wishlist!.userState]).not.toEqual([...view!.userState]);
  });
});

describe.each(backends)('WISHLIST events on $name', (backend) => {
  let f: ForecastFixture;
  beforeAll(async () => {
    f = await openForecastFixture(backend, { users: 40 });
  }, 120_000);
  afterAll(async () => {
    await f?.close();
  });

  it('is recorded, read back and forecast from by the shipped model', async () => {
    const [user, ...items] = f.lines[0]!.split(' ');
    const userId = `beauty:${user}`;
    const wished = `beauty:${items[0]}`;
    const res = await f.server.gql(RECORD, {
      e: [{ clientEventId: 'wish-1', type: 'WISHLIST', userId, itemId: wished }],
    });
    expect(res.errors).toBeUndefined();
    expect(res.data.recordEvents.accepted).toBe(1);
    expect(res.data.recordEvents.results[0].event).toEqual({
      type: 'WISHLIST',
      sequence: items.length + 1,
      item: { id: wished },
    });
    const stored = await f.db.query<{ type: string }>(
      `SELECT type FROM events WHERE client_event_id = 'wish-1'`,
    );
    expect(stored.rows).toEqual([{ type: 'WISHLIST' }]);
    const forecast = await f.server.gql(
      `query($u: ID!) { interestForecast(userId: $u, first: 5) { strategy basedOnEvents items { item { id } } } }`,
      { u: userId },
    );
    expect(forecast.errors).toBeUndefined();
    expect(forecast.data.interestForecast.strategy).toBe('SEQUENCE_MODEL');
    expect(forecast.data.interestForecast.basedOnEvents).toBe(items.length + 1);
    expect(forecast.data.interestForecast.items.length).toBe(5);
  });

  it('serves an anonymous WISHLIST as the Beauty model serves any type (it saw none)', async () => {
    const item = `beauty:${f.lines[1]!.split(' ')[1]}`;
    const [wishlist, view] = (await Promise.all(
      ['WISHLIST', 'VIEW'].map((type) => f.server.gql(ANONYMOUS, { e: [{ itemId: item, type }] })),
    )) as [GqlResponse, GqlResponse];
    expect(wishlist.errors).toBeUndefined();
    expect(wishlist.data.interestForecast.strategy).toBe('SEQUENCE_MODEL');
    expect(wishlist.data.interestForecast.items).toEqual(view.data.interestForecast.items);
    expect(wishlist.data.interestForecast.items.length).toBe(10);
  });
});
