// The scorer's first-order Markov term end to end: the newest item's successors are retrieved
// next to the nearest neighbours, the served top equals the scorer's ranking of the whole
// stored catalogue, and FOLLOWS_LATEST explanations quote the real transition counts.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Candidate, SequenceEvent } from '../../src/inference/model.js';
import { backends } from '../helpers/backends.js';
import { openForecastFixture, type ForecastFixture } from '../helpers/forecast.js';

interface Reason {
  kind: string;
  message: string;
  weight: number;
  inputIndex: number | null;
}

const ANONYMOUS = `query($ev: [AnonymousEventInput!], $first: Int) {
  interestForecast(recentEvents: $ev, first: $first, explain: true) {
    items { score item { id } reasons { kind message weight inputIndex } }
  }
}`;

describe.each(backends)('Markov term on $name', (backend) => {
  let f: ForecastFixture;
  let stored: string[];
  beforeAll(async () => {
    f = await openForecastFixture(backend);
    stored = (
      await f.db.query<{ id: string }>(
        `SELECT id FROM items WHERE dataset = 'beauty' AND embedding IS NOT NULL ORDER BY id`,
      )
    ).rows.map((r) => r.id);
  }, 120_000);
  afterAll(async () => {
    await f?.close();
  });

  /** A stored item with the most stored successors: the term matters most there. */
  function busiestItem(): string {
    const inDb = new Set(stored);
    let best = { id: '', n: -1 };
    for (const id of stored) {
      const n = f.model.successorsOf(id, 1000).filter((s) => inDb.has(s)).length;
      if (n > best.n) best = { id, n };
    }
    expect(best.n).toBeGreaterThan(2);
    return best.id;
  }

  async function forecastFor(events: SequenceEvent[], first: number) {
    const res = await f.server.gql<{
      interestForecast: { items: { score: number; item: { id: string }; reasons: Reason[] }[] };
    }>(ANONYMOUS, { ev: events.map((e) => ({ itemId: e.itemId, type: e.type })), first });
    expect(res.errors).toBeUndefined();
    return res.data!.interestForecast.items;
  }

  it('is in the shipped model', () => {
    expect(f.model.manifest.scorer?.markov).toHaveLength(2);
    expect(f.model.transitions).not.toBeNull();
    expect(f.model.scorerReranks).toBe(false); // non-negative weights: NN top `first` + successors suffice
  });

  it("retrieves the newest item's successors and serves the scorer's top over the whole stored catalogue", async () => {
    const latest = busiestItem();
    const events: SequenceEvent[] = [{ itemId: latest, type: 'VIEW', occurredAt: null }];
    const inDb = new Set(stored);
    const successors = f.model.successorsOf(latest, 1000).filter((s) => inDb.has(s));

    const seen: string[][] = [];
    const score = f.model.score.bind(f.model);
    vi.spyOn(f.model, 'score').mockImplementation((inputs) => {
      seen.push(...inputs.map((r) => r.candidates.map((c) => c.itemId)));
      return score(inputs);
    });
    let served: Awaited<ReturnType<typeof forecastFor>>;
    try {
      served = await forecastFor(events, 10);
    } finally {
      vi.restoreAllMocks();
    }
    expect(seen).toHaveLength(1);
    for (const s of successors) expect(seen[0]).toContain(s);

    // Reference: the scorer over every stored item the model knows, in one call.
    const [enc] = await f.model.encode([events]);
    const all: Candidate[] = stored.flatMap((id) => {
      const k = f.model.knownItem(id);
      return k ? [{ itemId: id, embedding: k.embedding, attributeIds: k.attributeIds }] : [];
    });
    const [scores] = await f.model.score([
      {
        newestItemId: latest,
        userState: enc!.userState,
        categoryProbs: enc!.categoryProbs,
        candidates: all,
      },
    ]);
    const exact = all
      .map((c, k) => ({ id: c.itemId, s: scores![k]! }))
      .sort((a, b) => b.s - a.s)
      .slice(0, 10);
    // HNSW is approximate: allow one neighbour to differ, never a wrong score.
    const servedIds = served.map((i) => i.item.id);
    expect(exact.filter((e) => servedIds.includes(e.id)).length).toBeGreaterThanOrEqual(9);
    // At least one successor made the top 10 here, lifted by the term.
    expect(servedIds.some((id) => successors.includes(id))).toBe(true);
  });

  it('explains lifted items with FOLLOWS_LATEST and the real counts', async () => {
    const latest = busiestItem();
    const events: SequenceEvent[] = [
      { itemId: stored[0]!, type: 'VIEW', occurredAt: null },
      { itemId: latest, type: 'VIEW', occurredAt: null },
    ];
    const items = await forecastFor(events, 20);
    const follows = items.flatMap((it) =>
      it.reasons.filter((r) => r.kind === 'FOLLOWS_LATEST').map((r) => ({ it, r })),
    );
    expect(follows.length).toBeGreaterThan(0);
    for (const { it, r } of follows) {
      const t = f.model.transitionOf(latest, it.item.id)!;
      expect(t.count).toBeGreaterThan(0);
      expect(r.inputIndex).toBe(1); // the latest event
      expect(r.weight).toBeCloseTo(t.count / t.out, 6);
      expect(r.message).toContain(`${t.count} time`);
    }
    // Items that never followed the latest item carry no such reason.
    for (const it of items) {
      if (f.model.transitionOf(latest, it.item.id)!.count === 0) {
        expect(it.reasons.some((r) => r.kind === 'FOLLOWS_LATEST')).toBe(false);
      }
    }
  });
});
