// What a policy's slates do to the catalogue, beyond hit rate: how much of it is ever shown
// (coverage), how varied one slate is (intra-list diversity), and how unequally exposure is
// spread over the items (Gini).

/** Share of the catalogue's `catalogueSize` items that appear in at least one slate. */
export function catalogueCoverage(
  slates: readonly (readonly string[])[],
  catalogueSize: number,
): number {
  const shown = new Set(slates.flat());
  return catalogueSize > 0 ? shown.size / catalogueSize : NaN;
}

/**
 * Mean over slates of the mean pairwise distance of a slate's items (slates of fewer than two
 * items are left out); `distance` is symmetric, 0 for identical items.
 */
export function intraListDiversity(
  slates: readonly (readonly string[])[],
  distance: (a: string, b: string) => number,
): number {
  let total = 0;
  let counted = 0;
  for (const s of slates) {
    if (s.length < 2) continue;
    let sum = 0;
    for (let i = 0; i < s.length; i++)
      for (let j = i + 1; j < s.length; j++) sum += distance(s[i] as string, s[j] as string);
    total += sum / ((s.length * (s.length - 1)) / 2);
    counted++;
  }
  return counted ? total / counted : NaN;
}

/**
 * Gini coefficient of the impressions per item over the whole catalogue (`catalogueSize`
 * items; those never shown count as 0): 0 = every item shown equally often, → 1 = all
 * impressions on one item.
 */
export function exposureGini(
  slates: readonly (readonly string[])[],
  catalogueSize: number,
): number {
  const counts = new Map<string, number>();
  for (const s of slates) for (const id of s) counts.set(id, (counts.get(id) ?? 0) + 1);
  if (counts.size > catalogueSize)
    throw new RangeError(`${counts.size} items shown but the catalogue has ${catalogueSize}`);
  const xs = [...counts.values()].sort((a, b) => a - b);
  const zeros = catalogueSize - xs.length;
  const total = xs.reduce((a, b) => a + b, 0);
  if (total === 0) return NaN;
  // Σ_i (2i − n − 1)·x_i over the ascending order, 1-based i; the zeros take ranks 1…zeros.
  let weighted = 0;
  xs.forEach((x, k) => (weighted += (2 * (zeros + k + 1) - catalogueSize - 1) * x));
  return weighted / (catalogueSize * total);
}
