// Off-policy evaluation of serving policies from the impression log: what click (or purchase)
// rate per impression would a target policy have had on the forecasts that were served?
//
// Targets are epsilon-greedy at ε′ over each logged forecast's own greedy slate and exploration
// pool (ε′ = 0: the model's greedy slate). For slot k of a forecast logged with ε and pool M,
// the target shows the logged slot's item with probability π′ = slotPropensity(k, explored, ε′,
// M) and the log showed it with p = the stored propensity, so each logged impression gets the
// importance weight w = π′ / p. Under the item-position model (a slot's reward depends on the
// item and its rank, not on the rest of the slate):
//   IPS   = Σ w·r / N            (N = logged impressions; unbiased)
//   SNIPS = Σ w·r / Σ w          (self-normalised: a little bias, much less variance)
// with 95 % percentile bootstrap intervals over forecasts (a forecast's slots are resampled
// together, since they share one draw). A target is unsupported on a forecast when it can show
// something there the log could not have: an explored item where the log never explores (a
// greedy log, whose pool was never drawn or stored, or a pool that cannot reach that slot), or
// a greedy item the log always replaced.
// Such targets are reported as unsupported, not estimated. Other targets (another diversity
// re-ranking, another model) choose different items than were logged and are out of reach.
import type { LoggedForecast, LoggedSlot } from '../db/impressions.js';
import { bootstrapInterval } from '../random.js';
import { slotPropensity } from '../exploration/policy.js';

export type Reward = 'click' | 'purchase';

export interface PolicyEstimate {
  /** ε′ of the target (epsilon-greedy over the logged slate and pool). */
  targetEpsilon: number;
  forecasts: number;
  impressions: number;
  /** Forecasts on which the target shows what the log could not have (then no estimate). */
  unsupported: number;
  /** The logged policy's observed rate: rewards / impressions. */
  logged: number;
  ips: number | null;
  ipsCI: [number, number] | null;
  snips: number | null;
  snipsCI: [number, number] | null;
  /** Kish's effective sample size (Σw)² / Σw² of the impressions. */
  effectiveSampleSize: number | null;
  maxWeight: number | null;
}

const rewardOf = (s: LoggedSlot, reward: Reward) => (reward === 'click' ? s.clicked : s.purchased);

/**
 * The target's weight π′/p for each slot of `f`, or null when the target is not supported on
 * this forecast.
 */
export function importanceWeights(f: LoggedForecast, targetEpsilon: number): number[] | null {
  const { epsilon, explorationPool: pool } = f.policy;
  // A log that never explored stored no pool: what the target would explore is unknown.
  if (targetEpsilon > 0 && epsilon <= 0) return null;
  const weights: number[] = [];
  for (const s of f.slots) {
    // Support: wherever the target can put mass (greedy item, or any pool item), the log must
    // have been able to as well.
    for (const explored of [false, true]) {
      const target = slotPropensity(s.rank, explored, targetEpsilon, pool);
      const logged = slotPropensity(s.rank, explored, epsilon, pool);
      if (target > 0 && logged <= 0) return null;
    }
    if (!(s.propensity > 0)) return null; // a stored slot the log says it could not show
    weights.push(slotPropensity(s.rank, s.explored, targetEpsilon, pool) / s.propensity);
  }
  return weights;
}

/** A forecast's sums: Σ w·r, Σ w and its impressions (the estimators are ratios of sums). */
interface Unit {
  weighted: number;
  weights: number;
  impressions: number;
}

function ips(units: readonly Unit[]): number {
  let num = 0;
  let n = 0;
  for (const u of units) {
    num += u.weighted;
    n += u.impressions;
  }
  return n ? num / n : NaN;
}

function snips(units: readonly Unit[]): number {
  let num = 0;
  let den = 0;
  for (const u of units) {
    num += u.weighted;
    den += u.weights;
  }
  return den > 0 ? num / den : NaN;
}

/** IPS and SNIPS estimates of the target's `reward` rate per impression over `logs`. */
export function estimatePolicy(
  logs: readonly LoggedForecast[],
  targetEpsilon: number,
  reward: Reward,
  resamples = 1000,
): PolicyEstimate {
  if (!(targetEpsilon >= 0 && targetEpsilon <= 1))
    throw new RangeError(`target ε must lie in [0, 1], got ${targetEpsilon}`);
  const units: Unit[] = [];
  const all: number[] = [];
  let unsupported = 0;
  let impressions = 0;
  let rewards = 0;
  for (const f of logs) {
    const r = f.slots.map((s) => (rewardOf(s, reward) ? 1 : 0));
    impressions += r.length;
    rewards += r.reduce((a: number, b) => a + b, 0);
    const weights = importanceWeights(f, targetEpsilon);
    if (!weights) {
      unsupported++;
      continue;
    }
    all.push(...weights);
    units.push({
      weighted: weights.reduce((a, w, k) => a + w * (r[k] as number), 0),
      weights: weights.reduce((a, w) => a + w, 0),
      impressions: weights.length,
    });
  }
  const base = {
    targetEpsilon,
    forecasts: logs.length,
    impressions,
    unsupported,
    logged: impressions ? rewards / impressions : NaN,
  };
  if (unsupported > 0 || impressions === 0)
    return {
      ...base,
      ips: null,
      ipsCI: null,
      snips: null,
      snipsCI: null,
      effectiveSampleSize: null,
      maxWeight: null,
    };
  const sum = all.reduce((a, b) => a + b, 0);
  const squares = all.reduce((a, b) => a + b * b, 0);
  return {
    ...base,
    ips: ips(units),
    ipsCI: bootstrapInterval(units, ips, resamples),
    snips: snips(units),
    snipsCI: bootstrapInterval(units, snips, resamples),
    effectiveSampleSize: squares > 0 ? (sum * sum) / squares : 0,
    maxWeight: all.reduce((a, b) => Math.max(a, b), 0),
  };
}
