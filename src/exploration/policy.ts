// Serving policies: how a forecast's slate is chosen from its scored candidates, and with what
// probability each slot shows its item (the propensity the impression log keeps for off-policy
// evaluation).
//
// Greedy: the best `first` items in score order (after diversity re-ranking, when asked).
// Epsilon-greedy over slots: the greedy slate, then every slot independently, with probability
// ε, shows instead the next item of a uniformly shuffled exploration pool (the `pool` items
// ranked right after the slate). Slot k's marginal probabilities are exact:
//   P(greedy item g_k at k)      = 1 − ε + ε·q_k
//   P(pool item j at k)          = ε·(1 − q_k) / M           for each of the M pool items
//   q_k = P(Binomial(k − 1, ε) ≥ M)   (the pool ran out before slot k: it keeps g_k)
// and they sum to 1 over the items that can be there. No item appears twice.
import { randomInt } from 'node:crypto';
import { mulberry32, shuffleInPlace } from '../random.js';
import { diversify, type DiversitySettings, type PolicyCandidate } from './diversity.js';

export interface ExplorationSettings {
  /** Probability that a slot shows an explored item instead of the greedy one. */
  epsilon: number;
  /** How many items ranked after the slate the explored items are drawn from. */
  pool: number;
}

export interface ServingPolicy {
  exploration: ExplorationSettings | null;
  diversity: DiversitySettings | null;
  /** Seed of the slot draws; null = a fresh random seed per forecast (stored with it). */
  seed: number | null;
}

export const GREEDY: ServingPolicy = { exploration: null, diversity: null, seed: null };

/** Upper bounds on the pools, so that one request cannot ask for thousands of candidates. */
export const MAX_EXPLORATION_POOL = 200;
export const MAX_DIVERSITY_POOL = 300;

export interface SlateSlot {
  /** Index into the candidates given to `serveSlate`. */
  index: number;
  /** Probability that the policy shows this item in this slot, given the ranking. */
  propensity: number;
  /** Drawn from the exploration pool rather than the greedy slate. */
  explored: boolean;
}

export interface Slate {
  slots: SlateSlot[];
  /** What was actually used, stored with the forecast (policy key, ε, pool sizes, seed). */
  log: PolicyLog;
}

/** The policy as stored with each forecast (`forecasts.policy`). */
export interface PolicyLog {
  key: string;
  epsilon: number;
  /** Exploration pool size actually available (≤ the requested pool; 0 without exploration). */
  explorationPool: number;
  diversity: DiversitySettings | null;
  seed: number | null;
}

/** A stable, readable name of a policy: `greedy`, `eps(0.1,50)`, `mmr(0.7,30)+cap(2,30)`… */
export function policyKey(p: ServingPolicy): string {
  const parts: string[] = [];
  const d = p.diversity;
  if (d?.lambda != null && d.lambda < 1) parts.push(`mmr(${d.lambda},${d.pool})`);
  if (d?.maxPerCategory != null) parts.push(`cap(${d.maxPerCategory},${d.pool})`);
  if (p.exploration && explores(p))
    parts.push(`eps(${p.exploration.epsilon},${p.exploration.pool})`);
  return parts.length ? parts.join('+') : 'greedy';
}

/** How many ranked candidates the policy needs to choose a slate of `first` from. */
export function rankingLength(first: number, p: ServingPolicy): number {
  const ranked = p.diversity ? Math.max(first, p.diversity.pool) : first;
  return ranked + (p.exploration && explores(p) ? p.exploration.pool : 0);
}

/** Whether the policy draws slots (ε > 0): only then does a slate need a seed. */
function explores(p: ServingPolicy): boolean {
  return (p.exploration?.epsilon ?? 0) > 0;
}

/** P(Binomial(n, p) ≥ m). */
export function binomialTailAtLeast(n: number, p: number, m: number): number {
  if (m <= 0) return 1;
  if (m > n || p <= 0) return 0;
  if (p >= 1) return 1;
  let below = 0;
  let term = (1 - p) ** n; // P(X = 0), then P(X = x + 1) = P(X = x)·(n − x)/(x + 1)·p/(1 − p)
  for (let x = 0; x < m; x++) {
    below += term;
    term = (term * (n - x) * p) / ((x + 1) * (1 - p));
  }
  return Math.min(1, Math.max(0, 1 - below));
}

/**
 * Marginal probability that slot `rank` (1-based) shows its greedy item (`explored: false`) or
 * one given item of the pool (`explored: true`) under epsilon-greedy with this ε and pool size.
 */
export function slotPropensity(
  rank: number,
  explored: boolean,
  epsilon: number,
  pool: number,
): number {
  if (epsilon <= 0 || pool <= 0) return explored ? 0 : 1;
  const q = binomialTailAtLeast(rank - 1, epsilon, pool);
  return explored ? (epsilon * (1 - q)) / pool : 1 - epsilon + epsilon * q;
}

/** A seed for a forecast's draws: the policy's, else a fresh one; 0 when it draws nothing. */
export function drawSeed(p: ServingPolicy): number {
  return explores(p) ? (p.seed ?? randomInt(0, 2 ** 31)) : 0;
}

/**
 * The slate of at most `first` items from `ranked` (best first, every one servable) under
 * the policy, with each slot's propensity; `seed` drives the slot draws.
 */
export function serveSlate(
  ranked: readonly PolicyCandidate[],
  first: number,
  p: ServingPolicy,
  seed: number,
): Slate {
  let order = ranked.map((_, k) => k);
  let slateSize = Math.min(first, ranked.length);
  if (p.diversity) {
    const d = diversify(ranked, first, p.diversity);
    order = d.order;
    slateSize = d.chosen;
  }
  const epsilon = p.exploration?.epsilon ?? 0;
  const pool = explores(p) ? order.slice(slateSize, slateSize + (p.exploration?.pool ?? 0)) : [];
  const log: PolicyLog = {
    key: policyKey(p),
    epsilon,
    explorationPool: pool.length,
    diversity: p.diversity,
    seed: explores(p) ? seed : null,
  };
  const slots: SlateSlot[] = order
    .slice(0, slateSize)
    .map((index) => ({ index, propensity: 1, explored: false }));
  if (pool.length === 0) return { slots, log };

  const next = mulberry32(seed);
  // A uniform permutation of the pool, consumed slot by slot.
  shuffleInPlace(pool, next);
  let used = 0;
  slots.forEach((slot, k) => {
    const replace = next() < epsilon;
    if (replace && used < pool.length) {
      slot.index = pool[used++] as number;
      slot.explored = true;
    }
    slot.propensity = slotPropensity(k + 1, slot.explored, epsilon, pool.length);
  });
  return { slots, log };
}
