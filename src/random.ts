// Seeded pseudo-random numbers for reproducible sampling (exploration slots, bootstrap
// resamples): mulberry32, 32-bit integer arithmetic (Math.imul), uniform in [0, 1). Not for
// anything secret.

/** A generator of uniform numbers in [0, 1), the same sequence for the same 32-bit seed. */
export function mulberry32(seed: number): () => number {
  let s = seed | 0;
  return () => {
    s = (s + 0x6d2b79f5) | 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Shuffles `xs` in place into a uniform permutation (Fisher–Yates), drawing from `next`. */
export function shuffleInPlace<T>(xs: T[], next: () => number): T[] {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [xs[i], xs[j]] = [xs[j] as T, xs[i] as T];
  }
  return xs;
}

/**
 * 95 % percentile bootstrap interval of `stat` over `units` (resampled with replacement,
 * `resamples` times, fixed seed so a run reproduces); resamples where the statistic is not a
 * finite number are skipped.
 */
export function bootstrapInterval<T>(
  units: readonly T[],
  stat: (sample: T[]) => number,
  resamples = 1000,
  seed = 20261202,
): [number, number] {
  const next = mulberry32(seed);
  const values: number[] = [];
  for (let b = 0; b < resamples; b++) {
    const sample = Array.from(units, () => units[Math.floor(next() * units.length)] as T);
    const v = stat(sample);
    if (Number.isFinite(v)) values.push(v);
  }
  values.sort((x, y) => x - y);
  const at = (q: number) =>
    values[Math.min(values.length - 1, Math.floor(q * values.length))] ?? NaN;
  return [at(0.025), at(0.975)];
}
