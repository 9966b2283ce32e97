// How the encoder splits a batch by history length (Model.encode with a dynamic sequence axis):
// a few runs, each as wide as its longest history, instead of one run padded to the longest.

/** Most encoder runs one batch is split into by history length. */
const MAX_LENGTH_GROUPS = 3;
/**
 * The fixed cost of an encoder run, in padded positions: one run of one position took 0.33 ms,
 * a wide run 7.3 µs per position (B = 32, L = 50; shipped Beauty encoder, 1 thread).
 */
const RUN_COST_POSITIONS = 48;

/**
 * Splits a batch into at most MAX_LENGTH_GROUPS groups of rows (indices) with similar history
 * lengths, minimising the padded positions the runs compute plus a fixed cost per run
 * (dynamic programming over the rows sorted by length). A batch of histories of one length
 * stays one group.
 */
export function lengthGroups(lengths: readonly number[]): number[][] {
  const order = lengths
    .map((_, b) => b)
    .sort((a, b) => (lengths[a] as number) - (lengths[b] as number));
  const n = order.length;
  if (n === 0) return [];
  const len = (k: number) => Math.max(1, lengths[order[k] as number] as number);
  // best[g][j]: cost of the first j sorted rows in g groups; cut[g][j]: where the last starts.
  const best: number[][] = [[0, ...new Array<number>(n).fill(Infinity)]];
  const cut: number[][] = [[]];
  for (let g = 1; g <= Math.min(MAX_LENGTH_GROUPS, n); g++) {
    best.push(new Array<number>(n + 1).fill(Infinity));
    cut.push(new Array<number>(n + 1).fill(0));
    for (let j = 1; j <= n; j++) {
      for (let i = g - 1; i < j; i++) {
        const c = (best[g - 1]![i] as number) + RUN_COST_POSITIONS + (j - i) * len(j - 1);
        if (c < (best[g]![j] as number)) {
          best[g]![j] = c;
          cut[g]![j] = i;
        }
      }
    }
  }
  let g = 1;
  for (let k = 2; k < best.length; k++)
    if ((best[k]![n] as number) < (best[g]![n] as number)) g = k;
  const groups: number[][] = [];
  for (let j = n; g > 0; g--) {
    const i = cut[g]![j] as number;
    groups.unshift(order.slice(i, j));
    j = i;
  }
  return groups;
}
