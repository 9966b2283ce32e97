// Forecasts for shoppers the sequence model cannot read (no events yet, or none on items it
// knows): the ranking sources tried in order, most specific first — popularity within the
// category the visitor is looking at, within the shopper's profile segment, within the
// dataset, the dataset's newest products when it has no interactions yet, and every dataset's
// popularity when it has no products — each filling the slots the one before left empty.
import { itemFilter } from '../retrieval/candidates.js';
import type { PopularItem, PopularityRanking, PopularitySnapshot } from './popularity.js';
import { type Segment } from '../db/popularity.js';
import { type CandidateFilter } from '../db/retrieval.js';

/** Which path served a forecast; the schema's ForecastStrategy documents each. */
export type ForecastStrategy =
  | 'SEQUENCE_MODEL'
  | 'CONTEXT_ITEM_MODEL'
  | 'CATEGORY_POPULARITY'
  | 'SEGMENT_POPULARITY'
  | 'DATASET_POPULARITY'
  | 'CATALOGUE'
  | 'GLOBAL_POPULARITY';

/** What the visitor is looking at, given with the request. */
export interface ForecastContext {
  itemId: string | null;
  categoryId: string | null;
}

/** Interactions a profile segment needs before its popularity is used. */
const MIN_SEGMENT_INTERACTIONS = 20;
const MAX_SEGMENT_KEYS = 8;

export interface RankingSource {
  strategy: ForecastStrategy;
  /** What the source ranks, in words (the forecast's `strategyDetail`). */
  detail: string;
  snapshot: PopularitySnapshot;
}

/**
 * The profile's scalar attributes (strings, numbers, booleans; at most 8, by key) as candidate
 * segments: all of them together (`whole`, when there are several), and each alone.
 */
function candidateSegments(profile: Record<string, unknown>): {
  whole: Segment | null;
  singles: Segment[];
} {
  const scalars = Object.entries(profile)
    .filter(([, v]) => ['string', 'number', 'boolean'].includes(typeof v))
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .slice(0, MAX_SEGMENT_KEYS) as [string, string | number | boolean][];
  return {
    whole: scalars.length > 1 ? Object.fromEntries(scalars) : null,
    singles: scalars.map(([k, v]) => ({ [k]: v })),
  };
}

/**
 * The segment whose popularity serves a shopper with this profile: all attributes together
 * when that segment has MIN_SEGMENT_INTERACTIONS, else the single attribute with the most
 * interactions that has them; null when none has.
 */
async function segmentSource(
  popularity: PopularityRanking,
  dataset: string,
  profile: Record<string, unknown>,
): Promise<RankingSource | null> {
  const { whole, singles } = candidateSegments(profile);
  const ranked = (segment: Segment) =>
    popularity
      .of({ kind: 'segment', dataset, segment })
      .then((snapshot) => ({ segment, snapshot }));
  const [together, alone] = await Promise.all([
    whole ? ranked(whole) : null,
    Promise.all(singles.map(ranked)),
  ]);
  const enough = (c: { snapshot: PopularitySnapshot }) =>
    c.snapshot.interactions >= MIN_SEGMENT_INTERACTIONS;
  // Stable sort: among equally supported attributes the first by key wins.
  const best =
    together && enough(together)
      ? together
      : alone.filter(enough).sort((a, b) => b.snapshot.interactions - a.snapshot.interactions)[0];
  if (!best) return null;
  return {
    strategy: 'SEGMENT_POPULARITY',
    detail: `most interacted items of ${dataset} shoppers with profile ${JSON.stringify(best.segment)} (${best.snapshot.interactions} interactions)`,
    snapshot: best.snapshot,
  };
}

/**
 * The ranking sources for a subject of `dataset`, in the order they fill a forecast, each
 * computed only when the ones before it left slots empty. `coldStart`: a model forecast that
 * fell back (context and profile are used); otherwise the popularity baseline (`mode:
 * POPULARITY`), which starts at the dataset's popularity.
 */
export function rankingSources(
  popularity: PopularityRanking,
  dataset: string,
  profile: Record<string, unknown>,
  context: ForecastContext | null,
  coldStart: boolean,
): (() => Promise<RankingSource | null>)[] {
  const sources: (() => Promise<RankingSource | null>)[] = [];
  const categoryId = context?.categoryId;
  if (coldStart && categoryId)
    sources.push(async () => {
      const snapshot = await popularity.of({ kind: 'category', dataset, categoryId });
      return {
        strategy: 'CATEGORY_POPULARITY',
        detail: `most interacted items of category ${categoryId} (${snapshot.interactions} interactions)`,
        snapshot,
      };
    });
  if (coldStart) sources.push(() => segmentSource(popularity, dataset, profile));
  sources.push(
    async () => {
      const snapshot = await popularity.of({ kind: 'dataset', dataset });
      return {
        strategy: 'DATASET_POPULARITY',
        detail: `most interacted items of ${dataset} (${snapshot.interactions} interactions)`,
        snapshot,
      };
    },
    async () => ({
      strategy: 'CATALOGUE',
      detail: `newest items of ${dataset} (it has no interactions yet)`,
      snapshot: await popularity.of({ kind: 'catalogue', dataset }),
    }),
    async () => {
      // Other shops' products only for a dataset without any of its own.
      if ((await popularity.of({ kind: 'catalogue', dataset })).items.length > 0) return null;
      const snapshot = await popularity.of({ kind: 'global' });
      return {
        strategy: 'GLOBAL_POPULARITY',
        detail: `most interacted items of every dataset (${snapshot.interactions} interactions; ${dataset} has no items)`,
        snapshot,
      };
    },
  );
  return sources;
}

export interface ServedRanking {
  strategy: ForecastStrategy;
  detail: string;
  items: { item: PopularItem; source: RankingSource }[];
  /** The first source's category shares (the forecast's next-category distribution). */
  categories: { categoryId: string; probability: number }[];
}

/**
 * The best `first` items that pass `filter` and are not in `excluded`, taken from the sources
 * in order (each computed only while slots are left); the strategy is the first source that
 * served an item (the first source that exists when none did).
 */
export async function serveFromSources(
  sources: readonly (() => Promise<RankingSource | null>)[],
  filter: CandidateFilter,
  excluded: ReadonlySet<string>,
  first: number,
): Promise<ServedRanking> {
  const passesFilter = itemFilter(filter);
  const passes = (it: PopularItem) => !excluded.has(it.id) && passesFilter(it);
  const items: ServedRanking['items'] = [];
  const taken = new Set<string>();
  let firstSource: RankingSource | null = null;
  let servedBy: RankingSource | null = null;
  for (const next of sources) {
    if (items.length >= first) break;
    const source = await next();
    if (!source) continue;
    firstSource ??= source;
    const before = items.length;
    for (const it of source.snapshot.items) {
      if (items.length >= first) break;
      if (taken.has(it.id) || !passes(it)) continue;
      taken.add(it.id);
      items.push({ item: it, source });
    }
    if (before === 0 && items.length > 0) servedBy = source;
  }
  const lead = servedBy ?? firstSource;
  return {
    strategy: lead?.strategy ?? 'DATASET_POPULARITY',
    detail: lead?.detail ?? 'no ranking source',
    items,
    categories: lead?.snapshot.categories ?? [],
  };
}
