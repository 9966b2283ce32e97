// Does a high drift score predict that a shopper's next item lies outside their long-term top
// categories? Every user's history is read through the serving read path (db/interests.ts) and
// scored with the serving function (evolution/distribution.ts interestDrift). Leave-one-out:
// the threshold is chosen on validation targets (each history's second-to-last event), the
// lift is reported on test targets (the last event). `npm run evaluate:drift` runs it.
import type { Queryable } from '../db/client.js';
import { categorisedHistories } from '../db/interests.js';
import { userIdsOfDataset } from '../db/users.js';
import { DRIFT, interestDrift, type CategorisedEvent } from '../evolution/distribution.js';
import { bootstrapInterval } from '../random.js';

/** The thresholds tried on validation targets. */
const GRID = Array.from({ length: 19 }, (_, k) => (k + 1) / 20);

interface Observation {
  score: number;
  /** The target has none of the long-term window's top categories. */
  outside: boolean;
}

/** How a threshold splits the targets into migrating (score ≥ threshold) and not. */
export interface DriftRates {
  migrating: number;
  outsideIfMigrating: number;
  outsideIfNot: number;
  lift: number;
  /** Youden's J: true-positive minus false-positive rate. */
  youden: number;
}

export interface DriftEvaluation extends DriftRates {
  recent: number;
  top: number;
  validUsers: number;
  testUsers: number;
  /** Chosen on validation targets. */
  threshold: number;
  /** Share of test targets outside the top categories. */
  outsideRate: number;
  liftCI: [number, number];
  auc: number;
  aucCI: [number, number];
  /** The rates at the serving threshold (DRIFT.threshold). */
  thresholdAtDefault: DriftRates;
}

/** Scores of (history, target) pairs: `back` = 1 for test targets, 2 for validation ones. */
function observations(
  histories: CategorisedEvent[][],
  recent: number,
  back: 1 | 2,
  top: number,
): Observation[] {
  const out: Observation[] = [];
  for (const events of histories) {
    const categorised = events.filter((e) => e.categoryIds.length > 0);
    const target = categorised[categorised.length - back];
    if (!target) continue;
    const drift = interestDrift(categorised.slice(0, categorised.length - back), recent);
    if (!drift) continue;
    const tops = new Set(drift.longTerm.slice(0, top).map((c) => c.categoryId));
    out.push({ score: drift.score, outside: !target.categoryIds.some((c) => tops.has(c)) });
  }
  return out;
}

function rates(obs: readonly Observation[], threshold: number): DriftRates {
  const hi = obs.filter((o) => o.score >= threshold);
  const lo = obs.filter((o) => o.score < threshold);
  const rate = (xs: Observation[]) =>
    xs.length ? xs.filter((o) => o.outside).length / xs.length : NaN;
  const pos = obs.filter((o) => o.outside).length;
  const tpr = pos ? hi.filter((o) => o.outside).length / pos : NaN;
  const fpr = obs.length - pos ? hi.filter((o) => !o.outside).length / (obs.length - pos) : NaN;
  return {
    migrating: hi.length,
    outsideIfMigrating: rate(hi),
    outsideIfNot: rate(lo),
    lift: rate(hi) / rate(lo),
    youden: tpr - fpr,
  };
}

/** Probability that a random outside target scores higher than a random inside one. */
function auc(obs: readonly Observation[]): number {
  const sorted = [...obs].sort((a, b) => a.score - b.score);
  let rankSum = 0;
  let i = 0;
  while (i < sorted.length) {
    let j = i;
    while (j < sorted.length && sorted[j]!.score === sorted[i]!.score) j++;
    const mid = (i + j + 1) / 2; // average 1-based rank of the tie group
    for (let k = i; k < j; k++) if (sorted[k]!.outside) rankSum += mid;
    i = j;
  }
  const pos = obs.filter((o) => o.outside).length;
  const neg = obs.length - pos;
  return (rankSum - (pos * (pos + 1)) / 2) / (pos * neg);
}

/** The categorised history of every user of `dataset` (its newest 5000 events), by user id. */
export async function driftHistories(q: Queryable, dataset: string): Promise<CategorisedEvent[][]> {
  const users = await userIdsOfDataset(q, dataset);
  const out: CategorisedEvent[][] = [];
  for (let k = 0; k < users.length; k += 1000) {
    const ids = users.slice(k, k + 1000);
    const found = await categorisedHistories(q, 'user', ids, 5000);
    for (const id of ids) out.push(found.get(id)?.events ?? []);
  }
  return out;
}

/**
 * The drift score (its `recent` window) as a predictor of a next item outside the `top`
 * long-term categories, over `histories`; intervals are 95 % bootstraps over users.
 */
export function evaluateDrift(
  histories: CategorisedEvent[][],
  recent: number,
  top: number,
): DriftEvaluation {
  const valid = observations(histories, recent, 2, top);
  const test = observations(histories, recent, 1, top);
  // Youden's J (true-positive minus false-positive rate) on validation: a threshold that does
  // not depend on the base rate of outside targets, unlike a maximum of the lift itself.
  let best = GRID[0]!;
  for (const t of GRID) if (rates(valid, t).youden > rates(valid, best).youden) best = t;
  const r = rates(test, best);
  const base = test.filter((o) => o.outside).length / test.length;
  return {
    recent,
    top,
    validUsers: valid.length,
    testUsers: test.length,
    threshold: best,
    outsideRate: base,
    ...r,
    liftCI: bootstrapInterval(test, (o) => rates(o, best).lift),
    auc: auc(test),
    aucCI: bootstrapInterval(test, auc),
    thresholdAtDefault: rates(test, DRIFT.threshold),
  };
}
