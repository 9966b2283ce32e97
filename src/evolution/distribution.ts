// Category distributions of behaviour and how they move: the category shares of a run of
// events, and the drift between a shopper's recent window and their long-term history. Pure
// functions: the API (timelines, drift) and the offline drift evaluation compute with the same
// code.

/** An event as the interest functions read it: the categories of its item (none: not counted). */
export interface CategorisedEvent {
  categoryIds: readonly string[];
}

export interface CategoryWeight {
  categoryId: string;
  /** Share of the run's category mass, in [0, 1]; shares of a run sum to 1. */
  share: number;
  /** Events' weight in this category: an event on an item of k categories adds 1/k to each. */
  weight: number;
}

/** Category → weight of a run of events; `total` is the number of categorised events. */
export interface CategoryMass {
  weights: Map<string, number>;
  total: number;
}

export function categoryMass(events: Iterable<CategorisedEvent>): CategoryMass {
  const weights = new Map<string, number>();
  let total = 0;
  for (const e of events) {
    const k = e.categoryIds.length;
    if (k === 0) continue;
    total += 1;
    for (const c of e.categoryIds) weights.set(c, (weights.get(c) ?? 0) + 1 / k);
  }
  return { weights, total };
}

/** The categories of a mass, largest share first (ties by id, so the order is stable). */
export function sharesOf(mass: CategoryMass): CategoryWeight[] {
  if (mass.total === 0) return [];
  return [...mass.weights]
    .map(([categoryId, weight]) => ({ categoryId, weight, share: weight / mass.total }))
    .sort((a, b) => b.share - a.share || (a.categoryId < b.categoryId ? -1 : 1));
}

/**
 * Jensen–Shannon divergence of two distributions (category → probability, each summing to 1),
 * base 2: 0 for equal distributions, 1 for disjoint ones.
 */
export function jensenShannon(p: ReadonlyMap<string, number>, q: ReadonlyMap<string, number>) {
  let js = 0;
  for (const c of new Set([...p.keys(), ...q.keys()])) {
    const a = p.get(c) ?? 0;
    const b = q.get(c) ?? 0;
    const m = (a + b) / 2;
    if (a > 0) js += 0.5 * a * Math.log2(a / m);
    if (b > 0) js += 0.5 * b * Math.log2(b / m);
  }
  return Math.min(1, Math.max(0, js));
}

/** The drift settings; docs/interests.md says how the threshold was chosen. */
export const DRIFT = {
  /** Events in the recent window, by default (most Amazon histories are shorter than 13). */
  recent: 5,
  /**
   * Pseudo-events of the long-term distribution added to the recent window (shrinkage toward
   * the shopper's own history): a window of 3 events that happen to fall in new categories is
   * not yet a migration. Windows in proportion to the history still score exactly 0.
   */
  prior: 2,
  /** Categorised long-term events needed for a score. */
  minLongTerm: 3,
  /**
   * `migrating` when the score reaches this: chosen on Beauty's validation targets with the
   * default window (docs/interests.md, "Drift").
   */
  threshold: 0.3,
  /** Share change that lists a category as gained or lost. */
  minShift: 0.05,
} as const;

export interface CategoryShift {
  categoryId: string;
  recentShare: number;
  longTermShare: number;
  /** recentShare − longTermShare. */
  change: number;
}

export interface Drift {
  /** Jensen–Shannon divergence (base 2) of the smoothed recent and the long-term shares. */
  score: number;
  migrating: boolean;
  threshold: number;
  /** Categorised events in each window. */
  recentEvents: number;
  longTermEvents: number;
  /** Categories whose share grew (shrank) by at least DRIFT.minShift, largest change first. */
  gained: CategoryShift[];
  lost: CategoryShift[];
  /** The long-term window's shares, largest first. */
  longTerm: CategoryWeight[];
}

/**
 * Drift of a history (oldest first): its newest `recent` categorised events against all the
 * categorised events before them. Null when the long-term window has fewer than
 * DRIFT.minLongTerm categorised events, or the recent one none.
 */
export function interestDrift(
  events: readonly CategorisedEvent[],
  recent: number = DRIFT.recent,
  threshold: number = DRIFT.threshold,
): Drift | null {
  const categorised = events.filter((e) => e.categoryIds.length > 0);
  const split = Math.max(0, categorised.length - recent);
  const r = categoryMass(categorised.slice(split));
  const l = categoryMass(categorised.slice(0, split));
  if (r.total === 0 || l.total < DRIFT.minLongTerm) return null;
  const longTerm = new Map([...l.weights].map(([c, w]) => [c, w / l.total]));
  const smoothed = new Map<string, number>();
  for (const [c, p] of longTerm) smoothed.set(c, DRIFT.prior * p);
  for (const [c, w] of r.weights) smoothed.set(c, (smoothed.get(c) ?? 0) + w);
  for (const [c, w] of smoothed) smoothed.set(c, w / (r.total + DRIFT.prior));
  const score = jensenShannon(smoothed, longTerm);
  const shifts = [...new Set([...r.weights.keys(), ...longTerm.keys()])].map((categoryId) => {
    const recentShare = (r.weights.get(categoryId) ?? 0) / r.total;
    const longTermShare = longTerm.get(categoryId) ?? 0;
    return { categoryId, recentShare, longTermShare, change: recentShare - longTermShare };
  });
  const byChange = (sign: 1 | -1) =>
    shifts
      .filter((s) => sign * s.change >= DRIFT.minShift)
      .sort((a, b) => sign * (b.change - a.change) || (a.categoryId < b.categoryId ? -1 : 1));
  return {
    score,
    migrating: score >= threshold,
    threshold,
    recentEvents: r.total,
    longTermEvents: l.total,
    gained: byChange(1),
    lost: byChange(-1),
    longTerm: sharesOf(l),
  };
}
