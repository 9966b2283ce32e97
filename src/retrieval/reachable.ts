// Which of a forecast's liftable items (Markov successors, co-occurrence neighbours) can still
// reach the scorer's top `first` once its nearest neighbours are known: the rest need neither
// the included-items lookup nor the scorer (docs/forecasts.md, "Why neighbours plus
// successors are enough").
import type { KnownItem, Model } from '../inference/model.js';
import { innerProduct } from './candidates.js';

/**
 * Whether `reachable` can leave out some liftable items: a scorer that is the inner product
 * plus non-negative lifting terms (`!scorerReranks`) with a co-occurrence term (without one,
 * every liftable item is a Markov successor, which `reachable` keeps).
 */
export function prunesLiftable(model: Model): boolean {
  return !model.scorerReranks && (model.manifest.scorer?.cooccurrence?.weight ?? 0) > 0;
}

/**
 * The items of `liftable` (model indices) that can still reach the scorer's top `first`, given
 * the subject's `first` best nearest neighbours (`neighbours`, filters applied). With
 * `prunesLiftable`, an item that followed none of the Markov term's newest items scores exactly
 * `<u, v> + weight * x` (x its co-occurrence input), computed here; every neighbour scores at
 * least `similarity + weight * x`, as the other terms are never negative. An item below the
 * `first`-th of those bounds cannot enter the top `first` and is left out (a margin covers
 * float32 rounding in scorer.onnx). Markov successors are always kept: their term needs the
 * scorer. Without `prunesLiftable`, or with fewer than `first` neighbours, all of `liftable`.
 * (Measured on 500 Beauty users: of 115 co-occurrence-only items per forecast, 6.5 can reach
 * the top 10.)
 */
export function reachable(
  model: Model,
  recentItemIds: readonly string[],
  userState: Float32Array,
  liftable: readonly number[],
  neighbours: readonly { similarity: number; modelIndex?: number }[],
  first: number,
): readonly number[] {
  const cooc = model.cooccurrence;
  const term = model.manifest.scorer?.cooccurrence;
  if (!prunesLiftable(model) || !cooc || !term || neighbours.length < first) return liftable;
  const indexOf = (id: string) => model.itemIndex.get(id) ?? 0;
  const history = recentItemIds.slice(0, term.window).map(indexOf);
  const feature = (indices: Int32Array): Float32Array => {
    const x = new Float32Array(indices.length);
    cooc.feature(history, term.decay, indices, 0, indices.length, x);
    return x;
  };
  const nx = feature(Int32Array.from(neighbours, (c) => c.modelIndex ?? 0));
  const bounds = neighbours.map((c, n) => c.similarity + term.weight * (nx[n] as number));
  const floor = bounds.sort((a, b) => b - a)[first - 1] as number;
  const margin = 1e-3 * Math.max(1, Math.abs(floor));
  const lx = feature(Int32Array.from(liftable));
  const transitions = model.transitions;
  const markovFrom = transitions ? recentItemIds.slice(0, model.markovItems).map(indexOf) : [];
  return liftable.filter((j, n) => {
    if (markovFrom.some((h) => h > 0 && transitions!.count(h, j) > 0)) return true;
    const dot = innerProduct((model.itemAt(j) as KnownItem).embedding, userState);
    return dot + term.weight * (lx[n] as number) >= floor - margin;
  });
}
