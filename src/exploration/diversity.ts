// Diversity re-ranking of a scored list, after scoring and before exploration: maximal marginal
// relevance (MMR, Carbonell & Goldstein 1998) over item embeddings, and/or a cap on the items
// that share a category. Deterministic: a diversified slate keeps propensity 1 per slot.

export interface DiversitySettings {
  /**
   * MMR trade-off λ in [0, 1]: each next item maximises λ·relevance − (1 − λ)·(its largest
   * similarity to an item already chosen). 1 = the model's order; null = no MMR (cap only).
   */
  lambda: number | null;
  /** At most this many chosen items may share any one category; null = no cap. */
  maxPerCategory: number | null;
  /** How many of the best-scored items the re-ranking chooses from. */
  pool: number;
}

/** A scored item as the serving policies see it. */
export interface PolicyCandidate {
  id: string;
  score: number;
  categoryIds: readonly string[];
  /** Retrieval embedding; null where none is at hand (popularity-served items). */
  embedding: Float32Array | null;
}

/** Cosine similarity of the embeddings, or the Jaccard overlap of the categories without them. */
export function similarity(a: PolicyCandidate, b: PolicyCandidate): number {
  if (a.embedding && b.embedding) {
    let dot = 0;
    let na = 0;
    let nb = 0;
    for (let d = 0; d < a.embedding.length; d++) {
      const x = a.embedding[d] as number;
      const y = b.embedding[d] as number;
      dot += x * y;
      na += x * x;
      nb += y * y;
    }
    return na > 0 && nb > 0 ? dot / Math.sqrt(na * nb) : 0;
  }
  if (a.categoryIds.length === 0 || b.categoryIds.length === 0) return 0;
  const mine = new Set(a.categoryIds);
  const shared = b.categoryIds.filter((c) => mine.has(c)).length;
  return shared / (mine.size + b.categoryIds.length - shared);
}

/**
 * `ranked` (best first) re-ordered: the first `want` positions chosen by MMR among the first
 * `settings.pool` items, every chosen item within the category cap; then the items the cap or
 * the pool left out, in their original order (the caller serves the `chosen` prefix;
 * exploration draws from the rest). Relevance is the
 * score min-max scaled to [0, 1] over the pool, so λ weighs like against like whatever the
 * scale of the scores (model logits or interaction counts).
 */
export function diversify(
  ranked: readonly PolicyCandidate[],
  want: number,
  settings: DiversitySettings,
): { order: number[]; chosen: number } {
  const pool = Math.min(ranked.length, settings.pool);
  const scores = ranked.slice(0, pool).map((c) => c.score);
  const lo = Math.min(...scores);
  const span = Math.max(...scores) - lo;
  const relevance = (k: number) =>
    span > 0 ? ((ranked[k] as PolicyCandidate).score - lo) / span : 1;
  const lambda = settings.lambda ?? 1;
  const cap = settings.maxPerCategory ?? Infinity;
  const perCategory = new Map<string, number>();
  const fits = (k: number) =>
    (ranked[k] as PolicyCandidate).categoryIds.every((c) => (perCategory.get(c) ?? 0) < cap);
  // Largest similarity of each remaining item to the chosen ones, updated as items are chosen.
  const maxSim = new Float64Array(pool).fill(-1); // similarities lie in [-1, 1]
  const order: number[] = [];
  const taken = new Uint8Array(ranked.length);
  while (order.length < want) {
    let best = -1;
    let bestValue = -Infinity;
    for (let k = 0; k < pool; k++) {
      if (taken[k] || !fits(k)) continue;
      const redundancy = order.length === 0 ? 0 : (maxSim[k] as number);
      const value = lambda * relevance(k) - (1 - lambda) * redundancy;
      if (value > bestValue) {
        bestValue = value;
        best = k;
      }
    }
    if (best < 0) break;
    taken[best] = 1;
    order.push(best);
    const chosen = ranked[best] as PolicyCandidate;
    for (const c of chosen.categoryIds) perCategory.set(c, (perCategory.get(c) ?? 0) + 1);
    if (lambda < 1)
      for (let k = 0; k < pool; k++)
        if (!taken[k])
          maxSim[k] = Math.max(
            maxSim[k] as number,
            similarity(ranked[k] as PolicyCandidate, chosen),
          );
  }
  const chosen = order.length;
  for (let k = 0; k < ranked.length; k++) if (!taken[k]) order.push(k);
  return { order, chosen };
}
