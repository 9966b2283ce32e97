// Off-policy estimates from epsilon-greedy logs in a simulated world whose click probabilities
// are known: IPS of the logging policy is its logged rate, IPS and SNIPS of other ε′ land on the
// true value, unsupported targets are refused; and the replay's slate metrics on small cases.
import { describe, expect, it } from 'vitest';
import type { LoggedForecast } from '../../src/db/impressions.js';
import type { PolicyCandidate } from '../../src/exploration/diversity.js';
import { estimatePolicy, importanceWeights } from '../../src/evaluation/ope.js';
import { serveSlate, slotPropensity, type ServingPolicy } from '../../src/exploration/policy.js';
import {
  catalogueCoverage,
  exposureGini,
  intraListDiversity,
} from '../../src/evaluation/slate-metrics.js';
import { mulberry32 } from '../../src/random.js';

const FIRST = 5;
const POOL = 8;
const ranked: PolicyCandidate[] = Array.from({ length: FIRST + POOL }, (_, j) => ({
  id: `i${j}`,
  score: 100 - j,
  categoryIds: [],
  embedding: null,
}));
// Click probability of item j at rank k (1-based): item appeal × position bias. Pool items
// (j ≥ FIRST) are not uniformly worse: i7 and i9 are better than most of the greedy slate.
const appeal = (j: number) =>
  [0.3, 0.25, 0.2, 0.15, 0.1, 0.05, 0.05, 0.4, 0.02, 0.35, 0.02, 0.02, 0.1][j]!;
const click = (j: number, rank: number) => appeal(j) / rank ** 0.5;

/** The exact expected click rate per impression of epsilon-greedy at ε′ in this world. */
function trueValue(epsilon: number): number {
  let v = 0;
  for (let k = 1; k <= FIRST; k++) {
    v += slotPropensity(k, false, epsilon, POOL) * click(k - 1, k);
    for (let j = FIRST; j < FIRST + POOL; j++)
      v += slotPropensity(k, true, epsilon, POOL) * click(j, k);
  }
  return v / FIRST;
}

function simulateLogs(epsilon: number, n: number, seed: number): LoggedForecast[] {
  const policy: ServingPolicy = { exploration: { epsilon, pool: POOL }, diversity: null, seed };
  const coin = mulberry32(seed);
  return Array.from({ length: n }, (_, t) => {
    const slate = serveSlate(ranked, FIRST, policy, seed + t);
    return {
      id: `f${t}`,
      modelVersion: 'sim',
      policy: slate.log,
      slots: slate.slots.map((s, k) => {
        const clicked = coin() < click(s.index, k + 1);
        return {
          itemId: `i${s.index}`,
          rank: k + 1,
          propensity: s.propensity,
          explored: s.explored,
          clicked,
          purchased: false,
        };
      }),
    };
  });
}

describe('off-policy estimates (IPS, SNIPS)', () => {
  const logs = simulateLogs(0.3, 10_000, 7);
  const observed =
    logs.flatMap((f) => f.slots).filter((s) => s.clicked).length / (logs.length * FIRST);

  it('gives the logging policy exactly its own logged rate', () => {
    const e = estimatePolicy(logs, 0.3, 'click', 200);
    expect(e.logged).toBeCloseTo(observed, 12);
    expect(e.ips).toBeCloseTo(observed, 12);
    expect(e.snips).toBeCloseTo(observed, 12);
    expect(e.maxWeight).toBeCloseTo(1, 12);
    expect(e.effectiveSampleSize).toBeCloseTo(logs.length * FIRST, 6);
  });

  it.each([0, 0.1, 0.6])('lands on the true rate of epsilon-greedy at ε′ %s', (target) => {
    const truth = trueValue(target);
    const e = estimatePolicy(logs, target, 'click', 400);
    expect(e.unsupported).toBe(0);
    for (const [value, ci] of [
      [e.ips!, e.ipsCI!],
      [e.snips!, e.snipsCI!],
    ] as const) {
      expect(ci[0]).toBeLessThanOrEqual(value);
      expect(ci[1]).toBeGreaterThanOrEqual(value);
      // generous: within the 95 % interval widened by half its width on each side
      const half = (ci[1] - ci[0]) / 2;
      expect(truth).toBeGreaterThan(ci[0] - half);
      expect(truth).toBeLessThan(ci[1] + half);
    }
    // …where the naive logged rate misses it (the estimator is doing the work)
    if (target !== 0.3)
      expect(Math.abs(observed - truth)).toBeGreaterThan(e.ipsCI![1] - e.ipsCI![0]);
  });

  it('refuses targets that explore where the log never did', () => {
    const greedyLogs = logs.slice(0, 50).map((f) => ({
      ...f,
      policy: { key: 'greedy', epsilon: 0, explorationPool: 0 },
      slots: f.slots.map((s) => ({ ...s, propensity: 1, explored: false })),
    }));
    const refused = estimatePolicy(greedyLogs, 0.1, 'click', 50);
    expect(refused).toMatchObject({ unsupported: 50, ips: null, snips: null, ipsCI: null });
    // the greedy target on greedy logs is the logged rate itself
    const same = estimatePolicy(greedyLogs, 0, 'click', 50);
    expect(same.ips).toBeCloseTo(same.logged, 12);
    // a log that explores every slot (ε = 1) never shows the greedy item once the pool lasts
    const always = simulateLogs(1, 1, 3)[0]!;
    expect(importanceWeights(always, 0.5)).toBeNull();
    expect(() => estimatePolicy(logs, 1.5, 'click')).toThrow(RangeError);
  });
});

describe('off-policy estimates where the pool runs out before the slate does', () => {
  // 6 slots, a pool of 2: from slot 3 on the pool can be used up (q_k > 0).
  const first = 6;
  const pool = 2;
  const items: PolicyCandidate[] = ranked.slice(0, first + pool);
  const draw = (epsilon: number, seed: number) =>
    serveSlate(items, first, { exploration: { epsilon, pool }, diversity: null, seed }, seed);
  /** The target's click rate per impression by Monte Carlo over its own slates (expected
   * clicks per slate, so no Bernoulli noise): independent of slotPropensity. */
  const monteCarlo = (epsilon: number, n = 40_000) => {
    let clicks = 0;
    for (let t = 0; t < n; t++)
      draw(epsilon, 900_000 + t).slots.forEach((s, k) => (clicks += click(s.index, k + 1)));
    return clicks / (n * first);
  };
  const coin = mulberry32(11);
  const logs: LoggedForecast[] = Array.from({ length: 10_000 }, (_, t) => {
    const slate = draw(0.5, t);
    return {
      id: `g${t}`,
      modelVersion: 'sim',
      policy: slate.log,
      slots: slate.slots.map((s, k) => ({
        itemId: `i${s.index}`,
        rank: k + 1,
        propensity: s.propensity,
        explored: s.explored,
        clicked: coin() < click(s.index, k + 1),
        purchased: false,
      })),
    };
  });

  it.each([0, 0.2, 0.8])('lands on the Monte-Carlo rate of ε′ %s', (target) => {
    const truth = monteCarlo(target);
    const e = estimatePolicy(logs, target, 'click', 300);
    expect(e.unsupported).toBe(0);
    const half = (e.ipsCI![1] - e.ipsCI![0]) / 2;
    expect(truth).toBeGreaterThan(e.ipsCI![0] - half);
    expect(truth).toBeLessThan(e.ipsCI![1] + half);
  });
});

describe('slate metrics', () => {
  const slates = [
    ['a', 'b'],
    ['a', 'c'],
    ['a', 'b'],
  ];

  it('coverage counts distinct shown items over the catalogue', () => {
    expect(catalogueCoverage(slates, 6)).toBeCloseTo(3 / 6, 12);
  });

  it('intra-list diversity is the mean pairwise distance per slate', () => {
    const d = (x: string, y: string) => (x === 'a' && y === 'c' ? 0.5 : 1);
    expect(intraListDiversity([...slates, ['z']], d)).toBeCloseTo((1 + 0.5 + 1) / 3, 12);
  });

  it('Gini of exposure counts never-shown items as zeros', () => {
    expect(exposureGini([['a', 'b', 'c']], 3)).toBeCloseTo(0, 12);
    // all 4 impressions on one item of 4: (n − 1) / n
    expect(exposureGini([['a'], ['a'], ['a'], ['a']], 4)).toBeCloseTo(3 / 4, 12);
    // counts a 3, b 2, c 1, and 3 items never shown: Σ(2i − n − 1)x / (n Σx)
    expect(exposureGini(slates, 6)).toBeCloseTo((1 * 1 + 3 * 2 + 5 * 3) / (6 * 6), 12);
    expect(() => exposureGini(slates, 2)).toThrow(RangeError);
  });
});
