// Serving policies over a fixed scored list: epsilon-greedy's stated propensities are exact
// (they sum to 1 per slot and match the frequencies of many seeded draws), and diversity
// re-ranking keeps its category cap.
import { describe, expect, it } from 'vitest';
import type { PolicyCandidate } from '../../src/exploration/diversity.js';
import {
  binomialTailAtLeast,
  serveSlate,
  slotPropensity,
  type ServingPolicy,
} from '../../src/exploration/policy.js';

const candidates = (n: number, categoryOf: (k: number) => string[] = () => []) =>
  Array.from({ length: n }, (_, k): PolicyCandidate => ({
    id: `i${k}`,
    score: n - k,
    categoryIds: categoryOf(k),
    embedding: Float32Array.from([Math.cos(k), Math.sin(k)]),
  }));

describe('epsilon-greedy over slots', () => {
  it('computes the binomial tail exactly', () => {
    // P(Bin(3, 0.5) ≥ 2) = 4/8
    expect(binomialTailAtLeast(3, 0.5, 2)).toBeCloseTo(0.5, 12);
    expect(binomialTailAtLeast(2, 0.3, 3)).toBe(0);
    expect(binomialTailAtLeast(4, 1, 4)).toBe(1);
  });

  it.each([
    [0.2, 20],
    [0.5, 3], // a pool smaller than the slate: it runs out
  ])('propensities sum to 1 per slot and match draws (ε %s, pool %s)', (epsilon, pool) => {
    const first = 6;
    const ranked = candidates(first + pool);
    const policy: ServingPolicy = { exploration: { epsilon, pool }, diversity: null, seed: null };
    const draws = 20_000;
    let malformed = 0;
    // counts[k][item index]
    const counts = Array.from({ length: first }, () => new Map<number, number>());
    const stated = Array.from({ length: first }, () => new Map<number, number>());
    for (let s = 0; s < draws; s++) {
      const slate = serveSlate(ranked, first, policy, 1000 + s);
      // a full slate, no item twice
      if (new Set(slate.slots.map((x) => x.index)).size !== first) malformed++;
      slate.slots.forEach((slot, k) => {
        const m = counts[k] as Map<number, number>;
        m.set(slot.index, (m.get(slot.index) ?? 0) + 1);
        stated[k]!.set(slot.index, slot.propensity);
        if (!slot.explored && slot.index !== k) malformed++; // unexplored = the greedy item
      });
    }
    expect(malformed).toBe(0);
    for (let k = 0; k < first; k++) {
      // Over every item that can be in slot k: the greedy one and each pool item.
      const greedy = slotPropensity(k + 1, false, epsilon, pool);
      const explored = slotPropensity(k + 1, true, epsilon, pool);
      expect(greedy + pool * explored).toBeCloseTo(1, 12);
      for (const [index, n] of counts[k] as Map<number, number>) {
        const p = stated[k]!.get(index) as number;
        const sd = Math.sqrt((p * (1 - p)) / draws);
        // A generous bound: 5 standard deviations (plus a floor for tiny p).
        expect(Math.abs(n / draws - p)).toBeLessThan(5 * sd + 1e-3);
      }
    }
  });

  it('is reproducible from its seed and greedy at ε = 0', () => {
    const ranked = candidates(40);
    const p: ServingPolicy = { exploration: { epsilon: 0.3, pool: 20 }, diversity: null, seed: 7 };
    expect(serveSlate(ranked, 10, p, 7)).toEqual(serveSlate(ranked, 10, p, 7));
    expect(serveSlate(ranked, 10, p, 7).log).toMatchObject({
      key: 'eps(0.3,20)',
      explorationPool: 20,
    });
    const greedy = serveSlate(ranked, 10, { ...p, exploration: { epsilon: 0, pool: 20 } }, 7);
    expect(greedy.slots.map((s) => s.index)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(greedy.slots.every((s) => s.propensity === 1 && !s.explored)).toBe(true);
    expect(greedy.log.key).toBe('greedy');
  });
});

describe('diversity', () => {
  it('keeps at most maxPerCategory items of any category', () => {
    // Item k has category c(k mod 3) and, for even k, also "even".
    const ranked = candidates(60, (k) => [`c${k % 3}`, ...(k % 2 === 0 ? ['even'] : [])]);
    const slate = serveSlate(
      ranked,
      10,
      { exploration: null, diversity: { lambda: null, maxPerCategory: 2, pool: 60 }, seed: null },
      0,
    );
    const perCategory = new Map<string, number>();
    for (const s of slate.slots)
      for (const c of ranked[s.index]!.categoryIds)
        perCategory.set(c, (perCategory.get(c) ?? 0) + 1);
    expect(Math.max(...perCategory.values())).toBeLessThanOrEqual(2);
    // c0, c1, c2 at most 2 each: at most 6 items can be served, and the best that fit are.
    expect(slate.slots.map((s) => s.index)).toEqual([0, 1, 2, 3, 5, 7]);
    expect(slate.slots.every((s) => s.propensity === 1)).toBe(true);
  });

  it('trades relevance for dissimilarity with MMR, and λ = 1 keeps the model order', () => {
    // Near-duplicates: items 0–4 share one direction, items 5–9 another, slightly lower scores.
    const ranked = Array.from({ length: 10 }, (_, k): PolicyCandidate => ({
      id: `i${k}`,
      score: 10 - k * 0.1,
      categoryIds: [],
      embedding: Float32Array.from(k < 5 ? [1, 0.01 * k] : [0.01 * k, 1]),
    }));
    const plain = serveSlate(
      ranked,
      4,
      { exploration: null, diversity: { lambda: 1, maxPerCategory: null, pool: 10 }, seed: null },
      0,
    );
    expect(plain.slots.map((s) => s.index)).toEqual([0, 1, 2, 3]);
    const mmr = serveSlate(
      ranked,
      4,
      { exploration: null, diversity: { lambda: 0.5, maxPerCategory: null, pool: 10 }, seed: null },
      0,
    );
    const picked = mmr.slots.map((s) => s.index);
    expect(picked[0]).toBe(0);
    expect(picked.filter((k) => k >= 5).length).toBeGreaterThanOrEqual(1);
    expect(mmr.log.key).toBe('mmr(0.5,10)');
  });
});
