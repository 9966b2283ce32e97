// Purchase intent served live, on both back-ends, over HTTP with the shipped intent model: a
// session recorded page by page through recordEvents, a session imported from the UCI file, an
// anonymous visitor's page views; no probability (with its reason) for a session without page
// kinds and for a user; bad page views refused with nothing written.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importUciShoppers } from '../../src/import/uci.js';
import { featuresFromPageViews } from '../../src/intent/features.js';
import { backends } from '../helpers/backends.js';
import { openForecastFixture, type ForecastFixture } from '../helpers/forecast.js';
import { pageViewsOf, parityRows, UCI_CSV } from './uci-rows.js';

const VISITOR = ['RETURNING', 'NEW', 'OTHER'] as const;
const INTENT = `purchaseProbability
  purchaseIntent { probability likely modelVersion source pageViews reason }`;
const BY_SESSION = `query($s: ID!) { interestForecast(sessionId: $s, first: 3) { ${INTENT} } }`;
const RECORD = `mutation($events: [EventInput!]!) { recordEvents(events: $events) { accepted } }`;

interface Intent {
  probability: number | null;
  likely: boolean | null;
  modelVersion: string | null;
  source: string;
  pageViews: number;
  reason: string | null;
}

describe.each(backends)('purchase intent on $name', (backend) => {
  let f: ForecastFixture;
  const rows = parityRows();
  beforeAll(async () => {
    f = await openForecastFixture(backend, { users: 20 });
  }, 120_000);
  afterAll(async () => {
    await f?.close();
  });

  async function intentOf(
    sessionId: string,
  ): Promise<{ purchaseProbability: number | null; purchaseIntent: Intent }> {
    const res = await f.server.gql(BY_SESSION, { s: sessionId });
    expect(res.errors).toBeUndefined();
    return res.data.interestForecast;
  }

  const eventCount = async () =>
    (await f.db.query<{ n: number }>('SELECT count(*)::int AS n FROM events')).rows[0]!.n;

  it('scores a session recorded page by page as PyTorch scores its UCI row', async () => {
    // rows with at most 60 page views: one recordEvents batch each
    const chosen = rows
      .filter((r) => r.features[0]! + r.features[2]! + r.features[4]! <= 60)
      .filter((r) => r.features[0]! + r.features[2]! + r.features[4]! > 0)
      .slice(0, 6);
    expect(chosen.length).toBe(6);
    for (const r of chosen) {
      const sessionId = `web:uci-row-${r.row}`;
      const events = pageViewsOf(r.features).map((v, k) => ({
        clientEventId: `${sessionId}:${k}`,
        type: 'VIEW',
        sessionId,
        occurredAt: v.occurredAt,
        page: {
          kind: v.kind,
          durationSeconds: v.durationSeconds,
          value: v.value,
          bounceRate: v.bounceRate,
          exitRate: v.exitRate,
        },
        ...(k === 0 && {
          visit: {
            visitorType: VISITOR[r.features[15]!],
            specialDay: r.features[9],
            operatingSystem: r.features[11],
            browser: r.features[12],
            region: r.features[13],
            trafficType: r.features[14],
          },
        }),
      }));
      const res = await f.server.gql(RECORD, { events });
      expect(res.errors).toBeUndefined();
      const fc = await intentOf(sessionId);
      expect(fc.purchaseIntent).toMatchObject({
        source: 'EVENTS',
        pageViews: events.length,
        modelVersion: f.intent.version,
        reason: null,
      });
      expect(Math.abs(fc.purchaseIntent.probability! - r.probability)).toBeLessThan(1e-5);
      expect(fc.purchaseProbability).toBe(fc.purchaseIntent.probability);
      expect(fc.purchaseIntent.likely).toBe(r.probability >= f.intent.manifest.threshold);
    }
    // the stored forecast keeps the probability it served
    const { rows: stored } = await f.db.query<{ p: number; intent: unknown }>(
      `SELECT purchase_probability AS p, purchase_intent AS intent FROM forecasts
       WHERE session_id = $1 ORDER BY created_at DESC LIMIT 1`,
      [`web:uci-row-${chosen[0]!.row}`],
    );
    expect(stored[0]!.intent).toEqual({ modelVersion: f.intent.version, source: 'EVENTS' });
    expect(Math.abs(stored[0]!.p - chosen[0]!.probability)).toBeLessThan(1e-5);
  });

  it('computes no purchase intent for a query that does not select it', async () => {
    const sessionId = `uci:s${rows[0]!.row}`;
    await importUciShoppers(f.db, UCI_CSV);
    const before = { ...f.intent.calls };
    const without = await f.server.gql(
      `query($s: ID!) { interestForecast(sessionId: $s, first: 3) { items { rank } } }`,
      { s: sessionId },
    );
    expect(without.errors).toBeUndefined();
    expect(f.intent.calls.calls - before.calls).toBe(0); // not asked: no model call
    const withIntent = await f.server.gql(
      `query($s: ID!) { interestForecast(sessionId: $s, first: 3) { ...I } }
       fragment I on InterestForecast { purchaseIntent { probability } }`,
      { s: sessionId },
    );
    expect(withIntent.errors).toBeUndefined();
    expect(f.intent.calls.calls - before.calls).toBe(1); // asked through a fragment: computed
    expect(withIntent.data.interestForecast.purchaseIntent.probability).toBeCloseTo(
      rows[0]!.probability,
      5,
    );
  });

  it('scores a merged batch of sessions with one intent-model call', async () => {
    const sessions = rows.slice(0, 8).map((r) => `uci:s${r.row}`);
    await importUciShoppers(f.db, UCI_CSV);
    const before = { ...f.intent.calls };
    const out = await f.engine.forecast(
      sessions.map((sessionId) => ({
        subject: { kind: 'session', sessionId },
        first: 3,
        explain: false,
        mode: 'MODEL',
        context: null,
        filter: {
          categoryIds: null,
          minPrice: null,
          maxPrice: null,
          inStockOnly: false,
          excludePurchased: true,
          excludeSeen: false,
        },
      })),
    );
    expect(f.intent.calls.calls - before.calls).toBe(1);
    expect(f.intent.calls.rows - before.rows).toBe(8);
    out.forEach((fc, k) => {
      if (fc instanceof Error) throw fc;
      expect(Math.abs(fc.purchaseIntent.probability! - rows[k]!.probability)).toBeLessThan(1e-5);
    });
  });

  it('serves imported UCI sessions from their aggregate features', async () => {
    const { rows: n } = await f.db.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM sessions WHERE dataset = 'uci'",
    );
    const report = await importUciShoppers(f.db, UCI_CSV);
    expect(report.counts.sessions).toEqual({ read: 12_330, inserted: 12_330 - n[0]!.n });
    expect(report.rejected).toBe(0);
    expect((await importUciShoppers(f.db, UCI_CSV)).counts.sessions.inserted).toBe(0);
    for (const r of rows.slice(0, 5)) {
      const fc = await intentOf(`uci:s${r.row}`);
      expect(fc.purchaseIntent).toMatchObject({ source: 'AGGREGATE', pageViews: 0 });
      expect(Math.abs(fc.purchaseIntent.probability! - r.probability)).toBeLessThan(1e-5);
    }
  });

  it('scores an anonymous visitor from the page views in recentEvents', async () => {
    const at = '2026-11-14T09:30:00.000Z'; // a Saturday in November
    const pages = [
      { kind: 'PRODUCT', durationSeconds: 40, value: 12.5, bounceRate: 0.01 },
      { kind: 'PRODUCT', durationSeconds: 95 },
      { kind: 'ADMINISTRATIVE', durationSeconds: 15, exitRate: 0.05 },
    ] as const;
    const res = await f.server.gql(
      `query($e: [AnonymousEventInput!]) { interestForecast(recentEvents: $e, first: 3) { ${INTENT} } }`,
      { e: pages.map((page) => ({ type: 'VIEW', occurredAt: at, page })) },
    );
    expect(res.errors).toBeUndefined();
    const intent = res.data.interestForecast.purchaseIntent as Intent;
    expect(intent).toMatchObject({ source: 'EVENTS', pageViews: 3, reason: null });
    const features = featuresFromPageViews(
      pages.map((p) => ({
        value: null,
        bounceRate: null,
        exitRate: null,
        ...p,
        occurredAt: new Date(at),
      })),
      {},
      'NEW',
      new Date(),
    )!;
    expect(features.slice(0, 11)).toEqual([1, 15, 0, 0, 2, 135, 0.01, 0.05, 12.5, 0, 11]);
    expect(features[16]).toBe(1);
    const [expected] = await f.intent.predict([features]);
    expect(intent.probability).toBeCloseTo(expected!, 6);
  });

  it("counts a signed-in shopper's later visit as RETURNING unless told otherwise", async () => {
    const r = rows.find((x) => x.features[4]! > 0 && x.features[4]! <= 30)!;
    const record = (sessionId: string, n: number, daysEarlier: number) =>
      f.server.gql(RECORD, {
        events: pageViewsOf(r.features)
          .slice(0, n)
          .map((v, k) => ({
            clientEventId: `${sessionId}:${k}`,
            type: 'VIEW',
            userId: 'web:returner',
            sessionId,
            occurredAt: new Date(Date.parse(v.occurredAt) - daysEarlier * 86_400_000).toISOString(),
            page: { kind: v.kind, durationSeconds: v.durationSeconds, value: v.value },
          })),
      });
    expect((await record('web:first-visit', 1, 7)).errors).toBeUndefined();
    expect((await record('web:second-visit', 99, 0)).errors).toBeUndefined();
    const views = pageViewsOf(r.features).map((v) => ({
      ...v,
      bounceRate: null,
      exitRate: null,
      occurredAt: new Date(v.occurredAt),
    }));
    const [returning, fresh] = await f.intent.predict([
      featuresFromPageViews(views, {}, 'RETURNING', new Date())!,
      featuresFromPageViews(views, {}, 'NEW', new Date())!,
    ]);
    expect(returning).not.toBeCloseTo(fresh!, 4);
    expect((await intentOf('web:second-visit')).purchaseIntent.probability).toBeCloseTo(
      returning!,
      6,
    );
    expect((await intentOf('web:first-visit')).purchaseIntent.source).toBe('EVENTS');
  });

  it('gives no probability, with the reason, without page kinds or for a user', async () => {
    const user = `beauty:${f.lines[0]!.split(' ')[0]}`;
    const item = `beauty:${f.lines[0]!.split(' ')[1]}`;
    await f.server.gql(RECORD, {
      events: [
        { clientEventId: 'plain-view', type: 'VIEW', sessionId: 'beauty:web-plain', itemId: item },
      ],
    });
    const plain = await intentOf('beauty:web-plain');
    expect(plain.purchaseProbability).toBeNull();
    expect(plain.purchaseIntent).toMatchObject({ probability: null, source: 'NONE', pageViews: 0 });
    expect(plain.purchaseIntent.reason).toContain('no page views');
    const res = await f.server.gql(
      `query($u: ID!) { interestForecast(userId: $u, first: 3) { ${INTENT} } }`,
      { u: user },
    );
    expect(res.data.interestForecast.purchaseIntent.reason).toContain('per visit');
  });

  it('refuses bad page views with BAD_USER_INPUT and writes nothing', async () => {
    const before = await eventCount();
    const ok = {
      clientEventId: 'bad-batch-ok',
      type: 'VIEW',
      sessionId: 'web:bad',
      page: { kind: 'PRODUCT', durationSeconds: 3 },
    };
    for (const [bad, field] of [
      [{ page: { kind: 'CHECKOUT', durationSeconds: 3 } }, null],
      [{ page: { kind: 'PRODUCT', durationSeconds: -1 } }, 'events[1].page.durationSeconds'],
      [{ page: { kind: 'PRODUCT', durationSeconds: 90_000 } }, 'events[1].page.durationSeconds'],
      [
        { page: { kind: 'PRODUCT', durationSeconds: 2, bounceRate: 1.5 } },
        'events[1].page.bounceRate',
      ],
      [{ page: { kind: 'PRODUCT', durationSeconds: 2, value: -4 } }, 'events[1].page.value'],
      [{ type: 'CART', itemId: 'beauty:1' }, 'events[1].page'],
      [{ sessionId: null, userId: 'web:u1' }, 'events[1].sessionId'],
      [{ visit: { specialDay: 2 } }, 'events[1].visit.specialDay'],
      [{ visit: { browser: 0 } }, 'events[1].visit.browser'],
    ] as const) {
      const res = await f.server.gql(RECORD, {
        events: [ok, { ...ok, clientEventId: 'bad-batch-bad', ...bad }],
      });
      expect(res.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
      if (field) expect(res.errors?.[0]?.extensions?.field).toBe(field);
    }
    expect(await eventCount()).toBe(before);
    // refused inside the transaction (an unknown item): the visit of the batch's first event is
    // not stored either, nor its new session
    const sessions = async () =>
      (await f.db.query<{ n: number }>('SELECT count(*)::int AS n FROM sessions')).rows[0]!.n;
    const sessionsBefore = await sessions();
    const res = await f.server.gql(RECORD, {
      events: [
        { ...ok, clientEventId: 'tx-visit', sessionId: 'web:tx', visit: { browser: 5 } },
        { ...ok, clientEventId: 'tx-item', sessionId: 'web:tx', itemId: 'web:no-such-item' },
      ],
    });
    expect(res.errors?.[0]?.extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      field: 'events[1].itemId',
    });
    expect(await eventCount()).toBe(before);
    expect(await sessions()).toBe(sessionsBefore);
  });
});
