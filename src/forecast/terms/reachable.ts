// Which of a forecast's lifted items (Markov successors, co-occurrence neighbours) can still
// reach the scorer's top `first` once its nearest neighbours are known: the rest need neither
// the included-items lookup nor the scorer (docs/forecasts.md, "Why neighbours plus
// successors are enough").
import type { KnownItem, SequenceModel } from '../../inference/model.js';
import { innerProduct } from '../../retrieval/candidates.js';
import type { RecentItems, ScoringTerms } from './index.js';

/**
 * The items of `lifted` (model indices) that can still reach the scorer's top `first`, given
 * the subject's `first` best nearest neighbours (`neighbours`, filters applied). With
 * `terms.prunes` (every term non-negative, some with an exact addend), an item that no term
 * without an addend touches scores exactly `<u, v>` plus the addends, computed here; every
 * neighbour scores at least its similarity plus its addends, the other terms being never
 * negative. An item below the `first`-th of those bounds cannot enter the top `first` and is
 * left out (a margin covers float32 rounding in scorer.onnx). Items a term without an addend
 * touches (Markov successors; every item, for a term that does not say) are always kept: only
 * the scorer can place them. Without
 * `terms.prunes`, or with fewer than `first` neighbours, all of `lifted`.
 * (Measured on 500 Beauty users: of 115 co-occurrence-only items per forecast, 6.5 can reach
 * the top 10.)
 */
export function reachable(
  model: SequenceModel,
  terms: ScoringTerms,
  recent: RecentItems,
  userState: Float32Array,
  lifted: readonly number[],
  neighbours: readonly { similarity: number; modelIndex?: number }[],
  first: number,
): readonly number[] {
  if (!terms.prunes || neighbours.length < first) return lifted;
  const exact = terms.list.flatMap((t) => (t.addend ? [t.addend] : []));
  const touching = terms.list.filter((t) => !t.addend);
  const addends = (indices: Int32Array): Float64Array => {
    if (exact.length === 1) return (exact[0] as (typeof exact)[number])(recent, indices);
    const sum = new Float64Array(indices.length);
    for (const addend of exact) {
      const a = addend(recent, indices);
      for (let n = 0; n < sum.length; n++) sum[n] = (sum[n] as number) + (a[n] as number);
    }
    return sum;
  };
  const na = addends(Int32Array.from(neighbours, (c) => c.modelIndex ?? 0));
  const bounds = neighbours.map((c, n) => c.similarity + (na[n] as number));
  const floor = bounds.sort((a, b) => b - a)[first - 1] as number;
  const margin = 1e-3 * Math.max(1, Math.abs(floor));
  const la = addends(Int32Array.from(lifted));
  // null: a term that does not list its items, which may touch any
  const sets = touching.map((t) => t.touchedItems?.(recent) ?? null);
  const touched = (j: number) => sets.some((set) => set === null || set.has(j));
  return lifted.filter((j, n) => {
    if (touched(j)) return true;
    const dot = innerProduct((model.itemAt(j) as KnownItem).embedding, userState);
    return dot + (la[n] as number) >= floor - margin;
  });
}
