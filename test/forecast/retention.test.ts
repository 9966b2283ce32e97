// Forecast retention over the real gateway: forecasts past FORECAST_RETENTION_DAYS are rolled up
// per day and deleted, outcomes (forecastOutcomes, /metrics) count the same before and after,
// concurrent pruners (a cluster's processes) count each forecast once, and feedback naming a
// pruned forecast is refused without writing anything.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { forecastOutcomes, type OutcomeRow } from '../../src/db/outcomes.js';
import { forecastStorage, pruneForecasts } from '../../src/db/retention.js';
import { startForecastRetention } from '../../src/forecast/retention.js';
import { silentLogger } from '../../src/log.js';
import { backends } from '../helpers/backends.js';
import { openForecastFixture, type ForecastFixture } from '../helpers/forecast.js';

const FORECAST = `query($u: ID!) { interestForecast(userId: $u, first: 5) { id items { item { id } } } }`;
const RECORD = `mutation($events: [EventInput!]!) { recordEvents(events: $events) { accepted } }`;
const OUTCOMES = `query($since: DateTime, $until: DateTime) {
  forecastOutcomes(since: $since, until: $until) {
    modelVersion policy forecasts impressions clicks carts purchases } }`;

type Outcome = OutcomeRow;

describe.each(backends)('forecast retention on $name', (backend) => {
  let f: ForecastFixture;
  const served: { id: string; userId: string; items: string[] }[] = [];

  beforeAll(async () => {
    f = await openForecastFixture(backend, { users: 40 });
    for (let k = 0; k < 8; k++) {
      const userId = `beauty:${f.lines[k]!.split(' ')[0]}`;
      const res = await f.server.gql(FORECAST, { u: userId });
      expect(res.errors).toBeUndefined();
      const fc = res.data.interestForecast;
      served.push({ id: fc.id, userId, items: fc.items.map((i: any) => i.item.id) });
    }
    // feedback: a click on forecasts 0–4, a cart and a purchase on forecast 1
    const events = served.slice(0, 5).map((s, k) => ({
      clientEventId: `ret-click-${k}`,
      type: 'VIEW',
      userId: s.userId,
      itemId: s.items[0],
      forecastId: s.id,
    }));
    for (const type of ['CART', 'PURCHASE'])
      events.push({ ...events[1]!, clientEventId: `ret-${type}`, type });
    const rec = await f.server.gql(RECORD, { events });
    expect(rec.errors).toBeUndefined();
    // forecasts 0–5 were served 40, 41 and 42 days ago (two a day)
    await f.db.query(
      `UPDATE forecasts SET created_at = now() - interval '40 days' - ((k.n - 1) / 2) * interval '1 day'
       FROM unnest($1::uuid[]) WITH ORDINALITY AS k(id, n) WHERE forecasts.id = k.id`,
      [served.slice(0, 6).map((s) => s.id)],
    );
  }, 180_000);
  afterAll(async () => {
    await f?.close();
  });

  async function outcomes(since?: Date, until?: Date): Promise<Outcome[]> {
    const res = await f.server.gql<{ forecastOutcomes: Outcome[] }>(OUTCOMES, {
      since: since?.toISOString(),
      until: until?.toISOString(),
    });
    expect(res.errors).toBeUndefined();
    return res.data!.forecastOutcomes;
  }

  it('rolls up and deletes what is past the window; outcomes count the same', async () => {
    const before = await outcomes();
    expect(before).toHaveLength(1);
    expect(before[0]).toMatchObject({ forecasts: 8, clicks: 5, carts: 1, purchases: 1 });
    const job = startForecastRetention(f.db, { days: 30, intervalS: 3600 }, silentLogger);
    const pruned = await job.runOnce();
    await job.stop();
    expect(pruned.deleted).toBe(6);
    const storage = await forecastStorage(f.db);
    expect(storage.rows).toBe(2);
    expect(storage.dailyRows).toBe(3); // three days, one model version, one policy
    expect(await outcomes()).toEqual(before);
    // the library function the /metrics endpoint reads gives the same
    expect(await forecastOutcomes(f.db, null, null)).toEqual(before);
    // nothing left to prune
    expect((await pruneForecasts(f.db, new Date(Date.now() - 30 * 86_400_000))).deleted).toBe(0);
  });

  it('counts a rolled-up day only when the range holds it whole', async () => {
    const day = 86_400_000;
    const recent = await outcomes(new Date(Date.now() - 3_600_000));
    expect(recent[0]).toMatchObject({ forecasts: 2, clicks: 0 });
    const all = await outcomes(new Date(Date.now() - 60 * day));
    expect(all[0]).toMatchObject({ forecasts: 8, clicks: 5, purchases: 1 });
    // a range ending 35 days ago holds the rolled-up days only
    const old = await outcomes(undefined, new Date(Date.now() - 35 * day));
    expect(old[0]).toMatchObject({ forecasts: 6, clicks: 5, carts: 1, purchases: 1 });
  });

  it('refuses feedback naming a pruned forecast and writes nothing of the batch', async () => {
    const count = async () =>
      (await f.db.query<{ n: number }>('SELECT count(*)::int AS n FROM events')).rows[0]!.n;
    const n = await count();
    const s = served[2]!;
    const res = await f.server.gql(RECORD, {
      events: [
        { clientEventId: 'ret-ok', type: 'VIEW', userId: s.userId, itemId: s.items[1] },
        {
          clientEventId: 'ret-late',
          type: 'VIEW',
          userId: s.userId,
          itemId: s.items[1],
          forecastId: s.id,
        },
      ],
    });
    expect(res.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(res.errors?.[0]?.extensions?.field).toBe('events[1].forecastId');
    expect(res.errors?.[0]?.message).toContain('attribution window');
    expect(await count()).toBe(n);
  });

  it('concurrent pruners in small batches count every forecast once', async () => {
    const before = await outcomes();
    const now = Date.now();
    // the two remaining forecasts age too; four pruners with batches of one row race
    const results = await Promise.all(
      Array.from({ length: 4 }, () =>
        pruneForecasts(f.db, new Date(now + 60_000), { batchSize: 1 }),
      ),
    );
    expect(results.reduce((s, r) => s + r.deleted, 0)).toBe(2);
    expect((await forecastStorage(f.db)).rows).toBe(0);
    expect(await outcomes()).toEqual(before);
  });
});
