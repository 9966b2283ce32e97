// The reasons a forecast shows (src/forecast/reasons.ts): at most three per item, the strongest
// first, none under its kind's threshold, one per cited event or category and one category
// reason, none repeated down the list; worded with titles and category names. The rules on
// constructed reasons, then over GraphQL on real Beauty shoppers with the shipped model (PGlite
// only: the rules do not touch storage, and the names' one statement runs on both back-ends
// in the interest-forecast suite).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  MAX_REASONS_PER_ITEM,
  MIN_REASON_WEIGHT,
  nameReason,
  selectReasons,
  type ForecastReason,
  type ReasonKind,
} from '../../src/forecast/reasons.js';
import { backends } from '../helpers/backends.js';
import { openForecastFixture, type ForecastFixture } from '../helpers/forecast.js';

const reason = (
  kind: ReasonKind,
  weight: number,
  at: { event?: number; category?: string } = {},
): ForecastReason => ({
  kind,
  message: `${kind} {item}`,
  weight,
  eventIndex: at.event ?? null,
  eventId: null,
  categoryId: at.category ?? null,
});

describe('selectReasons', () => {
  it('leaves out signals under their kind threshold and keeps the strongest three', () => {
    const [chosen] = selectReasons([
      [
        reason('RECENT_EVENT', MIN_REASON_WEIGHT.RECENT_EVENT - 0.001, { event: 1 }),
        reason('CATEGORY_MATCH', MIN_REASON_WEIGHT.CATEGORY_MATCH, { category: 'beauty:a1' }),
        reason('FOLLOWS_LATEST', 0.5, { event: 4 }),
        reason('OFTEN_TOGETHER', 0.9, { event: 3 }),
        reason('FOLLOWS_RECENT', 0.3, { event: 2 }),
      ],
    ]);
    expect(chosen!.map((r) => [r.kind, r.weight])).toEqual([
      ['OFTEN_TOGETHER', 0.9],
      ['FOLLOWS_LATEST', 0.5],
      ['FOLLOWS_RECENT', 0.3],
    ]);
    expect(chosen).toHaveLength(MAX_REASONS_PER_ITEM);
  });

  it('keeps one reason per cited event, and repeats none down the list', () => {
    const lists = selectReasons([
      [reason('FOLLOWS_LATEST', 0.4, { event: 4 }), reason('RECENT_EVENT', 0.6, { event: 4 })],
      [reason('RECENT_EVENT', 0.3, { event: 4 }), reason('OFTEN_TOGETHER', 0.2, { event: 2 })],
      [reason('RECENT_EVENT', 0.5, { event: 4 })],
      [reason('POPULAR', 0.01)],
    ]);
    expect(lists.map((l) => l.map((r) => `${r.kind}@${r.eventIndex}`))).toEqual([
      ['FOLLOWS_LATEST@4'], // the same event twice: what followed it, before attention
      ['RECENT_EVENT@4', 'OFTEN_TOGETHER@2'], // another kind of reason on event 4
      [], // RECENT_EVENT@4 was said above: nothing new to say
      ['POPULAR@null'],
    ]);
  });

  it("keeps each item's own popularity", () => {
    const popular = (n: number) => ({
      ...reason('POPULAR', n / 100),
      message: `${n} interactions`,
    });
    expect(selectReasons([[popular(90)], [popular(80)]]).map((l) => l.length)).toEqual([1, 1]);
  });

  it('gives one category reason per item, the strongest not shown higher up', () => {
    const cats = [
      reason('CATEGORY_MATCH', 0.3, { category: 'beauty:a1' }), // Makeup
      reason('CATEGORY_MATCH', 0.2, { category: 'beauty:a70' }), // Nails
      reason('CATEGORY_MATCH', 0.1, { category: 'beauty:a71' }), // Nail Polish
    ];
    const lists = selectReasons([cats, cats, cats, cats]);
    expect(lists.map((l) => l.map((r) => r.categoryId))).toEqual([
      ['beauty:a1'],
      ['beauty:a70'],
      ['beauty:a71'],
      [], // every category said above
    ]);
  });

  it('words the cited item by its title and the category by its name', () => {
    const names = {
      items: new Map([['beauty:1', 'OPI Nail Lacquer, Simmer and Shimmer']]),
      categories: new Map([['beauty:a1', 'Makeup']]),
    };
    const events = [
      { itemId: 'beauty:9', type: 'PURCHASE' },
      { itemId: 'beauty:1', type: 'PURCHASE' },
    ];
    expect(
      nameReason(
        { ...reason('FOLLOWS_LATEST', 0.5, { event: 1 }), message: 'often bought after {item}' },
        events,
        names,
      ).message,
    ).toBe('often bought after OPI Nail Lacquer, Simmer and Shimmer');
    // no title: the id
    expect(nameReason(reason('RECENT_EVENT', 0.5, { event: 0 }), events, names).message).toBe(
      'RECENT_EVENT beauty:9',
    );
    expect(
      nameReason(
        { ...reason('CATEGORY_MATCH', 0.2, { category: 'beauty:a1' }), message: 'in {category}' },
        events,
        names,
      ).message,
    ).toBe('in Makeup');
  });
});

interface Served {
  rank: number;
  item: { id: string; title: string | null };
  reasons: {
    kind: ReasonKind;
    message: string;
    weight: number;
    event: { id: string; item: { id: string; title: string | null } } | null;
    category: { id: string; name: string } | null;
  }[];
}

const FORECAST = `query($u: ID!) {
  interestForecast(userId: $u, first: 10, explain: true) {
    items { rank item { id title } reasons {
      kind message weight event { id item { id title } } category { id name } } }
  }
}`;

describe('reasons on real Beauty shoppers', () => {
  let f: ForecastFixture;
  let forecasts: Served[][];
  beforeAll(async () => {
    f = await openForecastFixture(backends[0]!, { names: true });
    const users = f.lines.slice(0, 40).map((l) => `beauty:${l.split(' ')[0]}`);
    forecasts = await Promise.all(
      users.map(async (u) => {
        const res = await f.server.gql<{ interestForecast: { items: Served[] } }>(FORECAST, { u });
        expect(res.errors).toBeUndefined();
        return res.data!.interestForecast.items;
      }),
    );
  }, 300_000);
  afterAll(async () => {
    await f?.close();
  });

  const source = (r: Served['reasons'][number]) =>
    `${r.kind} ${r.event?.id ?? ''} ${r.category?.id ?? ''}`;

  it('gives at most three reasons per item, strongest first, none under its threshold', () => {
    const all = forecasts.flat();
    expect(all).toHaveLength(400);
    for (const it of all) {
      expect(it.reasons.length).toBeLessThanOrEqual(MAX_REASONS_PER_ITEM);
      const w = it.reasons.map((r) => r.weight);
      expect([...w].sort((a, b) => b - a)).toEqual(w);
      for (const r of it.reasons)
        expect(r.weight).toBeGreaterThanOrEqual(MIN_REASON_WEIGHT[r.kind]);
      // one reason per cited event or category, and one category reason
      const cited = it.reasons.map((r) => r.event?.id ?? r.category?.id ?? r.kind);
      expect(new Set(cited).size).toBe(cited.length);
      expect(it.reasons.filter((r) => r.kind === 'CATEGORY_MATCH').length).toBeLessThanOrEqual(1);
    }
    // Every list explains something; the rules leave some items with nothing new to say.
    for (const items of forecasts) expect(items.some((it) => it.reasons.length > 0)).toBe(true);
    expect(all.some((it) => it.reasons.length === 0)).toBe(true);
  });

  it('never repeats a reason down the list, naming narrower categories lower down', () => {
    for (const items of forecasts) {
      const said = items.flatMap((it) => it.reasons.map(source));
      expect(new Set(said).size).toBe(said.length);
    }
    // Lists that name several categories: the head's strongest first, others lower down.
    const named = forecasts.map(
      (items) =>
        items.flatMap((it) => it.reasons).filter((r) => r.kind === 'CATEGORY_MATCH').length,
    );
    expect(Math.max(...named)).toBeGreaterThan(1);
  });

  it('names the cited product and category as people do', () => {
    const reasons = forecasts.flat().flatMap((it) => it.reasons);
    for (const r of reasons) {
      expect(r.message).not.toMatch(/\{item\}|\{category\}/);
      if (r.event?.item.title) {
        expect(r.message).toContain(r.event.item.title);
        expect(r.message).not.toContain(r.event.item.id);
      }
      if (r.category) {
        expect(r.category.name).not.toMatch(/^attribute \d+$/);
        expect(r.message).toContain(r.category.name);
      }
    }
    const follows = reasons.find((r) => r.kind === 'FOLLOWS_LATEST' && r.event?.item.title);
    expect(follows?.message).toMatch(/^often bought right after .+ \(the latest event\): \d+ time/);
  });
});
