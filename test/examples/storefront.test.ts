// The typed storefront client (examples/storefront) against the real gateway: its compiled
// documents run as they are, results come back in the shapes their types promise, and a bad
// input surfaces as a ForesightError with the code and field.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ForesightClient, ForesightError } from '../../examples/storefront/src/client.js';
import {
  ItemDetailsDocument,
  StorefrontForecastDocument,
  TrackEventsDocument,
  VisitorForecastDocument,
} from '../../examples/storefront/src/gql/graphql.js';
import { createApiKey } from '../../src/security/keys.js';
import { backends } from '../helpers/backends.js';
import { openForecastFixture, type ForecastFixture } from '../helpers/forecast.js';
import { startServer } from '../helpers/server.js';

describe('the typed storefront client', () => {
  let f: ForecastFixture;
  let client: ForesightClient;
  beforeAll(async () => {
    f = await openForecastFixture(backends[0]!, { users: 30 });
    client = new ForesightClient(f.server.url);
  }, 120_000);
  afterAll(async () => {
    await f?.close();
  });

  it('runs the storefront flow: forecast, product page, feedback, visitor forecast', async () => {
    const userId = `beauty:${f.lines[2]!.split(' ')[0]}`;
    const forecast = await client.request(StorefrontForecastDocument, { userId, first: 5 });
    expect(forecast.interestForecast.items).toHaveLength(5);
    expect(forecast.interestForecast.modelVersion).toBe(f.model.version);
    expect(forecast.interestForecast.categories).toHaveLength(3);
    const top = forecast.interestForecast.items[0]!;
    expect(top.reasons?.length).toBeGreaterThan(0);
    const { item } = await client.request(ItemDetailsDocument, { id: top.item.id });
    expect(item?.id).toBe(top.item.id);
    expect(item?.categories.length).toBeGreaterThan(0);
    const sent = await client.request(TrackEventsDocument, {
      events: [
        {
          clientEventId: `storefront:${forecast.interestForecast.id}`,
          type: 'VIEW',
          userId,
          itemId: top.item.id,
          forecastId: forecast.interestForecast.id,
        },
      ],
    });
    expect(sent.recordEvents).toEqual({ accepted: 1, duplicates: 0 });
    const visitor = await client.request(VisitorForecastDocument, {
      events: [
        { type: 'VIEW', itemId: top.item.id, page: { kind: 'PRODUCT', durationSeconds: 40 } },
      ],
    });
    expect(visitor.interestForecast.items.length).toBe(8);
    expect(visitor.interestForecast.purchaseIntent.source).toBe('EVENTS');
  });

  it('raises ForesightError with the code and field of a refused input', async () => {
    const refused = client.request(TrackEventsDocument, {
      events: [{ clientEventId: 'x', type: 'CART', userId: 'beauty:1', itemId: 'beauty:no-such' }],
    });
    await expect(refused).rejects.toBeInstanceOf(ForesightError);
    await expect(refused).rejects.toMatchObject({
      code: 'BAD_USER_INPUT',
      field: 'events[0].itemId',
    });
  });

  // Last: the key it creates makes the fixture's gateway require keys (AUTH=auto).
  it('runs with a storefront key on a gateway that allows only its operations', async () => {
    const guarded = await startServer(
      f.db,
      { OPERATION_ALLOW_LIST: 'examples/storefront/operations' },
      { engine: f.engine },
    );
    try {
      const { token } = await createApiKey(f.db, { name: 'web', scopes: ['read', 'write:events'] });
      const keyed = new ForesightClient(guarded.url, token);
      const userId = `beauty:${f.lines[3]!.split(' ')[0]}`;
      const forecast = await keyed.request(StorefrontForecastDocument, { userId, first: 3 });
      expect(forecast.interestForecast.items).toHaveLength(3);
      const { item } = await keyed.request(ItemDetailsDocument, {
        id: forecast.interestForecast.items[0]!.item.id,
      });
      expect(item?.id).toBe(forecast.interestForecast.items[0]!.item.id);
      await expect(
        new ForesightClient(guarded.url).request(ItemDetailsDocument, { id: 'beauty:1' }),
      ).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
    } finally {
      await guarded.close();
    }
  });
});
