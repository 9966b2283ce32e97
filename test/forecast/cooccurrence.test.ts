// The scorer's item co-occurrence term end to end (models with `scorer.cooccurrence`): the
// stored neighbours of the recent items it reads are retrieved next to the nearest neighbours
// and the Markov successors, filters apply to them, the served top equals the scorer's ranking
// of the whole stored catalogue, and OFTEN_TOGETHER explanations quote a real event of the
// shopper, by its product's title, with the real similarity as their weight.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Candidate, SequenceEvent } from '../../src/inference/model.js';
import { MIN_REASON_WEIGHT } from '../../src/forecast/reasons.js';
import { backends } from '../helpers/backends.js';
import { MODEL_DIR, openForecastFixture, type ForecastFixture } from '../helpers/forecast.js';
import { termsOf } from '../helpers/terms.js';

const hasTerm = !!JSON.parse(fs.readFileSync(path.join(MODEL_DIR, 'model.json'), 'utf8')).scorer
  ?.cooccurrence;

const FIRST = 10;

interface Served {
  score: number;
  item: { id: string };
  reasons: {
    kind: string;
    message: string;
    weight: number;
    inputIndex: number | null;
    event: { id: string; item: { id: string; title: string | null } } | null;
  }[];
}

const ANONYMOUS = `query($ev: [AnonymousEventInput!], $first: Int, $filter: ForecastFilter) {
  interestForecast(recentEvents: $ev, first: $first, filter: $filter, explain: true) {
    items { score item { id } reasons { kind message weight inputIndex event { id item { id } } } }
  }
}`;

const BY_USER = `query($u: ID!, $first: Int) {
  interestForecast(userId: $u, first: $first, explain: true) {
    items { score item { id } reasons { kind message weight inputIndex event { id item { id title } } } }
  }
}`;

describe.runIf(hasTerm).each(backends)('co-occurrence term on $name', (backend) => {
  let f: ForecastFixture;
  let t: ReturnType<typeof termsOf>;
  let stored: string[];
  /** A history whose served top holds an item only its co-occurrence neighbours bring in. */
  let chosen: {
    events: SequenceEvent[];
    recent: string[];
    target: string;
    exact: string[];
    /** The scorer's score of every stored item the model knows, for that history. */
    scoreOf: Map<string, number>;
  };

  beforeAll(async () => {
    f = await openForecastFixture(backend, { names: true });
    t = termsOf(f.model);
    stored = (
      await f.db.query<{ id: string }>(
        `SELECT id FROM items WHERE dataset = 'beauty' AND embedding IS NOT NULL AND in_stock
         ORDER BY id`,
      )
    ).rows.map((r) => r.id);
    chosen = await chooseHistory();
  }, 120_000);
  afterAll(async () => {
    await f?.close();
  });

  const known = (id: string): Candidate => {
    const k = f.model.knownItem(id)!;
    return { itemId: id, embedding: k.embedding, attributeIds: k.attributeIds };
  };
  const dot = (a: Float32Array, b: Float32Array) => a.reduce((s, x, d) => s + x * b[d]!, 0);

  /**
   * Over the slice's real histories (their newest items, as views): the first whose exact top
   * FIRST (the scorer over every stored item) holds an item that is a stored co-occurrence
   * neighbour of the recent items, not a Markov successor of them, and far from the nearest
   * neighbours (inner-product rank > 3 × FIRST): only the co-occurrence term can bring it in.
   */
  async function chooseHistory() {
    const window = t.recentItemsRead;
    const histories = f.lines.slice(0, 60).map((line) =>
      line
        .split(' ')
        .slice(1)
        .map((i) => `beauty:${i}`)
        .filter((id) => f.model.knows(id))
        .slice(-window)
        .map((itemId): SequenceEvent => ({ itemId, type: 'VIEW', occurredAt: null })),
    );
    const usable = histories.filter((h) => h.length > 0);
    const encoded = await f.model.encode(usable);
    const all = stored.filter((id) => f.model.knows(id)).map(known);
    const recents = usable.map((h) => t.recentKnownItems(h));
    const scores = await t.score(
      usable.map((_, b) => ({
        recentItemIds: recents[b]!,
        userState: encoded[b]!.userState,
        categoryProbs: encoded[b]!.categoryProbs,
        candidates: all,
      })),
    );
    for (let b = 0; b < usable.length; b++) {
      const recent = recents[b]!;
      const together = new Set(t.cooccurringWith(recent));
      const successors = new Set(t.successorsOf(recent, 1000));
      const byDot = all
        .map((c) => ({ id: c.itemId, s: dot(c.embedding, encoded[b]!.userState) }))
        .sort((x, y) => y.s - x.s)
        .map((x) => x.id);
      const exact = all
        .map((c, k) => ({ id: c.itemId, s: scores[b]![k]! }))
        .sort((x, y) => y.s - x.s)
        .slice(0, FIRST)
        .map((x) => x.id);
      const target = exact.find(
        (id) => together.has(id) && !successors.has(id) && byDot.indexOf(id) >= 3 * FIRST,
      );
      const scoreOf = new Map(all.map((c, k) => [c.itemId, scores[b]![k]!]));
      if (target) return { events: usable[b]!, recent, target, exact, scoreOf };
    }
    throw new Error('no slice history whose top holds an item only co-occurrence brings in');
  }

  async function forecastFor(events: SequenceEvent[], filter?: Record<string, unknown>) {
    const seen: string[][] = [];
    const score = f.model.score.bind(f.model);
    vi.spyOn(f.model, 'score').mockImplementation((inputs, termFeeds) => {
      seen.push(...inputs.map((r) => r.candidates.map((c) => c.itemId)));
      return score(inputs, termFeeds);
    });
    try {
      const res = await f.server.gql<{ interestForecast: { items: Served[] } }>(ANONYMOUS, {
        ev: events.map((e) => ({ itemId: e.itemId, type: e.type })),
        first: FIRST,
        filter,
      });
      expect(res.errors).toBeUndefined();
      expect(seen).toHaveLength(1);
      return { items: res.data!.interestForecast.items, candidates: seen[0]! };
    } finally {
      vi.restoreAllMocks();
    }
  }

  it('is in the served model and reads its window of recent items', () => {
    const cooc = f.model.manifest.scorer!.cooccurrence!;
    expect(f.model.table('cooccurrence') ?? null).not.toBeNull();
    expect(cooc.weight).toBeGreaterThan(0);
    expect(t.cooccurrenceWindow).toBe(cooc.window);
    expect(t.recentItemsRead).toBe(Math.max(1, t.markovItems, cooc.window));
    expect(t.scorerReranks).toBe(false); // the term is ≥ 0: neighbours + lifted items suffice
  });

  it('retrieves and scores an item only a recent item’s co-occurrence neighbours bring in', async () => {
    const { events, recent, target, exact, scoreOf } = chosen;
    const { items, candidates } = await forecastFor(events);
    expect(candidates).toContain(target);
    // The stored neighbours of the items the term reads that are not candidates were left out
    // because they cannot reach the top (src/forecast/terms/reachable.ts): each scores below the served last.
    const inDb = new Set(stored);
    const last = items[items.length - 1]!.score;
    const together = t.cooccurringWith(recent).filter((id) => inDb.has(id));
    const left = together.filter((id) => !candidates.includes(id));
    for (const id of left) expect(scoreOf.get(id)!).toBeLessThan(last);
    // the bound rules out most of them (on Beauty ~95 %)
    expect(left.length).toBeGreaterThan(together.length / 2);
    const served = items.map((i) => i.item.id);
    expect(served).toContain(target);
    // HNSW is approximate: allow one neighbour to differ, never a wrong score.
    expect(exact.filter((id) => served.includes(id)).length).toBeGreaterThanOrEqual(FIRST - 1);
    // its served score is the scorer's, with candidate_cooccurrence as the contract defines it
    const [enc] = await f.model.encode([events]);
    const [scores] = await t.score([
      {
        recentItemIds: recent,
        userState: enc!.userState,
        categoryProbs: enc!.categoryProbs,
        candidates: [known(target)],
      },
    ]);
    expect(items.find((i) => i.item.id === target)!.score).toBeCloseTo(scores![0]!, 4);
    // weight × x on top of the rest: x = Σ_k decay^k · S[h_k, target] from cooccurrence.bin
    const { weight, decay, window } = f.model.manifest.scorer!.cooccurrence!;
    const x = recent
      .slice(0, window)
      .reduce((s, h, k) => s + decay ** k * t.cooccurrenceOf(h, target)!, 0);
    expect(x).toBeGreaterThan(0);
    const [without] = await t.score([
      {
        recentItemIds: [],
        userState: enc!.userState,
        categoryProbs: enc!.categoryProbs,
        candidates: [known(target)],
      },
    ]);
    // not a successor: without any recent item only the inner product is left
    expect(without![0]!).toBeCloseTo(dot(known(target).embedding, enc!.userState), 4);
    expect(scores![0]! - without![0]!).toBeCloseTo(weight * x, 3);
  });

  it('applies the filters to co-occurrence neighbours too', async () => {
    const { events, target } = chosen;
    // Out of stock: scored (it joins the candidates unchecked) but never served, though the
    // term lifts it into the top; the next best takes its place.
    const before = (await forecastFor(events)).items.map((i) => i.item.id);
    expect(before).toContain(target);
    await f.db.query(`UPDATE items SET in_stock = false WHERE id = $1`, [target]);
    try {
      const { items } = await forecastFor(events);
      const served = items.map((i) => i.item.id);
      expect(served).not.toContain(target);
      expect(served).toHaveLength(FIRST);
      expect(served.slice(0, FIRST - 1)).toEqual(before.filter((id) => id !== target));
    } finally {
      await f.db.query(`UPDATE items SET in_stock = true WHERE id = $1`, [target]);
    }
    // a category it is in: served; one it is not in: not served, and nothing outside it is
    const mine = f.model.knownItem(target)!.attributeIds;
    const other = stored
      .flatMap((id) => f.model.knownItem(id)?.attributeIds ?? [])
      .find((c) => !mine.includes(c))!;
    for (const [category, retrieved] of [
      [mine[0]!, true],
      [other, false],
    ] as const) {
      const { items } = await forecastFor(events, { categoryIds: [category] });
      const served = items.map((i) => i.item.id);
      expect(served.includes(target)).toBe(retrieved);
      for (const id of served) expect(f.model.knownItem(id)!.attributeIds).toContain(category);
    }
  });

  it('explains with OFTEN_TOGETHER, quoting the real event and similarity of the strongest recent item', async () => {
    const { events, target } = chosen;
    const userId = `beauty:cooccurrence-${backend.name}`;
    const rec = await f.server.gql(
      `mutation($e: [EventInput!]!) { recordEvents(events: $e) { accepted } }`,
      {
        e: events.map((e, k) => ({
          clientEventId: `cooccurrence-${k}`,
          type: e.type,
          userId,
          itemId: e.itemId,
        })),
      },
    );
    expect(rec.errors).toBeUndefined();
    const { rows } = await f.db.query<{ id: string; item_id: string }>(
      `SELECT id::text AS id, item_id FROM events WHERE user_id = $1 ORDER BY seq, id`,
      [userId],
    );
    expect(rows.map((r) => r.item_id)).toEqual(events.map((e) => e.itemId));
    const res = await f.server.gql<{ interestForecast: { items: Served[] } }>(BY_USER, {
      u: userId,
      first: FIRST,
    });
    expect(res.errors).toBeUndefined();
    const items = res.data!.interestForecast.items;
    expect(items.map((i) => i.item.id)).toContain(target);

    const { decay, window } = f.model.manifest.scorer!.cooccurrence!;
    // the recent items the term reads, newest first, with their stored events
    const recent = rows.slice().reverse().slice(0, window);
    let quoted = 0;
    for (const it of items) {
      const contributions = recent.map(
        (r, k) => decay ** k * t.cooccurrenceOf(r.item_id, it.item.id)!,
      );
      const best = contributions.reduce((m, c, k) => (c > contributions[m]! ? k : m), 0);
      const reasons = it.reasons.filter((r) => r.kind === 'OFTEN_TOGETHER');
      // only where some recent item has the candidate among its stored neighbours (shown when
      // strong enough and not said higher up: src/forecast/reasons.ts)
      expect(reasons.length).toBeLessThanOrEqual(contributions[best]! > 0 ? 1 : 0);
      const r = reasons[0];
      if (!r) continue;
      quoted++;
      expect(r.event!.id).toBe(recent[best]!.id);
      expect(r.event!.item.id).toBe(recent[best]!.item_id);
      expect(r.inputIndex).toBeNull(); // stored events are referred to by `event`
      // the stored affinity relative to that item's strongest neighbour, quoted in the message
      const s = t.cooccurrenceOf(recent[best]!.item_id, it.item.id)!;
      expect(r.weight).toBeCloseTo(s / t.strongestCooccurrence(recent[best]!.item_id)!, 6);
      expect(r.weight).toBeGreaterThanOrEqual(MIN_REASON_WEIGHT.OFTEN_TOGETHER);
      expect(r.weight).toBeLessThanOrEqual(1);
      expect(r.message).toContain(r.event!.item.title ?? recent[best]!.item_id);
    }
    expect(quoted).toBeGreaterThan(0);
  });
});
