// The rule distributions of the next-category forecaster, from a shopper's history as category
// indices (oldest first) and event times: the same arithmetic as training's
// models/training/foresight_training/category/rules.py and pool.py (category-parity.json pins
// them together). Index 0 is the padding and always 0.
import type { CategorySpec } from './spec.js';

/** The per-category features the pooled forecaster weighs (pool.py FEATURES, in any order). */
export type CategoryFeature =
  | 'transitions'
  | 'recency'
  | 'session'
  | 'popularity'
  | 'catnet'
  | 'last'
  | 'inHistory'
  | 'historyCount';

/** The rules' distributions over the categories (Float64Array of length C + 1). */
export interface RuleDistributions {
  last: Float64Array;
  recency: Float64Array;
  session: Float64Array;
  popularity: Float64Array;
  transitions: Float64Array;
  /** How often each category occurs in the history (a feature, not a rule). */
  counts: Float64Array;
}

export type RuleName = Exclude<keyof RuleDistributions, 'counts'>;

/**
 * Index of the first event of the history's last session: events at most `sessionGapSeconds`
 * apart; without a time on every event, the last `sessionEvents` events.
 */
export function sessionStart(spec: CategorySpec, times: readonly (number | null)[]): number {
  const n = times.length;
  if (n === 0) return 0;
  if (times.some((t) => t === null)) return Math.max(0, n - spec.rules.sessionEvents);
  let k = n - 1;
  while (k > 0 && (times[k] as number) - (times[k - 1] as number) <= spec.rules.sessionGapSeconds)
    k--;
  return k;
}

/** Every rule's distribution for a non-empty history (`cats` and `times` aligned). */
export function ruleDistributions(
  spec: CategorySpec,
  popularity: Float64Array,
  cats: readonly number[],
  times: readonly (number | null)[],
): RuleDistributions {
  const C = popularity.length;
  const n = cats.length;
  const last = new Float64Array(C);
  const lastCat = cats[n - 1] as number;
  last[lastCat] = 1;
  const recency = new Float64Array(C);
  let total = 0;
  cats.forEach((c, k) => {
    const w = spec.rules.recencyDecay ** (n - 1 - k);
    recency[c] = (recency[c] as number) + w;
    total += w;
  });
  for (let c = 0; c < C; c++) recency[c] = (recency[c] as number) / total;
  const session = new Float64Array(C);
  const start = sessionStart(spec, times);
  for (let k = start; k < n; k++) {
    const c = cats[k] as number;
    session[c] = (session[c] as number) + 1 / (n - start);
  }
  const counts = new Float64Array(C);
  for (const c of cats) counts[c] = (counts[c] as number) + 1;
  const prior = spec.rules.markovPrior;
  const row = spec.transitions[String(lastCat)] ?? [];
  let rowTotal = 0;
  const transitions = new Float64Array(C);
  for (let c = 0; c < C; c++) transitions[c] = prior * (popularity[c] as number);
  for (const [c, count] of row) {
    transitions[c] = (transitions[c] as number) + count;
    rowTotal += count;
  }
  for (let c = 0; c < C; c++) transitions[c] = (transitions[c] as number) / (rowTotal + prior);
  return { last, recency, session, popularity, transitions, counts };
}

/**
 * The conditional logit P(c) ∝ exp(Σ_k w_k f_k(c)) over the categories 1..C, the features as
 * pool.py builds them (rule probabilities in logs, floored).
 */
export function pooledDistribution(
  spec: CategorySpec,
  rules: RuleDistributions,
  catnet: Float32Array | null,
): Float64Array {
  const features = spec.features ?? [];
  const weights = spec.weights ?? [];
  const floor = spec.rules.floor;
  const C = rules.popularity.length;
  const logits = new Float64Array(C);
  let max = -Infinity;
  for (let c = 1; c < C; c++) {
    let z = 0;
    features.forEach((f, k) => {
      z += (weights[k] as number) * feature(f, c, rules, catnet, floor);
    });
    logits[c] = z;
    if (z > max) max = z;
  }
  let sum = 0;
  const p = new Float64Array(C);
  for (let c = 1; c < C; c++) {
    const e = Math.exp((logits[c] as number) - max);
    p[c] = e;
    sum += e;
  }
  for (let c = 1; c < C; c++) p[c] = (p[c] as number) / sum;
  return p;
}

function feature(
  f: CategoryFeature,
  c: number,
  r: RuleDistributions,
  catnet: Float32Array | null,
  floor: number,
): number {
  switch (f) {
    case 'transitions':
      return Math.log(floor + (r.transitions[c] as number));
    case 'recency':
      return Math.log(floor + (r.recency[c] as number));
    case 'session':
      return Math.log(floor + (r.session[c] as number));
    case 'popularity':
      return Math.log(r.popularity[c] as number);
    case 'catnet':
      return Math.log(floor + ((catnet as Float32Array)[c] as number));
    case 'last':
      return r.last[c] as number;
    case 'inHistory':
      return (r.counts[c] as number) > 0 ? 1 : 0;
    case 'historyCount':
      return Math.log1p(r.counts[c] as number);
  }
}

/**
 * `p` with the rule's top category first (the rule's own ranking: `rule` plus 1e-6 × popularity),
 * every other category's order kept: p where that category is already the strict top, else
 * (1 − α) p + α e_c with α = δ / (1 + δ) + 1e-6, δ its gap to the top (pool.py `anchored`).
 */
export function anchored(
  p: Float64Array,
  rule: Float64Array,
  popularity: Float64Array,
): Float64Array {
  const C = p.length;
  let c = 1;
  let best = -Infinity;
  for (let k = 1; k < C; k++) {
    const s = (rule[k] as number) + 1e-6 * (popularity[k] as number);
    if (s > best) {
      best = s;
      c = k;
    }
  }
  let top = -Infinity;
  for (let k = 1; k < C; k++) if (k !== c && (p[k] as number) > top) top = p[k] as number;
  const delta = top - (p[c] as number);
  if (!(delta >= 0)) return p;
  const alpha = delta / (1 + delta) + 1e-6;
  const out = p.map((x) => (1 - alpha) * x);
  out[c] = (out[c] as number) + alpha;
  return out;
}
