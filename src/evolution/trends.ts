// Trending items and categories of a dataset: growth of their interaction share in the recent
// window of days against the window before it, with a minimum-support rule so that a category
// going from 1 to 3 interactions does not top the list.
import type { Queryable } from '../db/client.js';
import { datasetDays, windowCounts } from '../db/interests.js';
import { TtlCache } from '../ttl-cache.js';
import { badUserInput } from '../errors.js';

export const MAX_TREND_WINDOW_DAYS = 366;

export interface TrendRequest {
  dataset: string;
  /** Length of each window in days. */
  window: number;
  first: number;
  /** Interactions needed in the recent window to be listed. */
  minSupport: number;
  /** Last day (YYYY-MM-DD, inclusive) of the recent window; null: the dataset's newest day. */
  asOf: string | null;
}

export interface Trend {
  /** Item or category id. */
  id: string;
  recentCount: number;
  previousCount: number;
  /** Share of the window's interactions (events with an item) in [0, 1]. */
  recentShare: number;
  previousShare: number;
  /**
   * Ratio of the add-one smoothed shares, ((r + 1) / (R + 1)) / ((p + 1) / (P + 1)): 1 for an
   * unchanged share, above 1 for a growing one; finite for a newcomer.
   */
  growth: number;
}

export interface Trends {
  dataset: string;
  window: number;
  /** What `trends` ranks. */
  by: 'item' | 'category';
  /** First day of the previous window, first day of the recent one, last day of the recent one. */
  previousFrom: string;
  recentFrom: string;
  asOf: string;
  recentInteractions: number;
  previousInteractions: number;
  trends: Trend[];
}

const DAY_MS = 86_400_000;
const addDays = (day: string, n: number) =>
  new Date(Date.parse(`${day}T00:00:00Z`) + n * DAY_MS).toISOString().slice(0, 10);

/**
 * Trends of one server, each computed at most every `ttlMs` (default 30 s): the same window
 * is asked by every storefront page, and a day-range aggregate costs milliseconds of the
 * database per call (bench/README.md).
 */
export class TrendCache {
  private readonly cache: TtlCache<Trends>;

  constructor(
    private readonly q: Queryable,
    ttlMs = 30_000,
  ) {
    this.cache = new TtlCache(ttlMs, 256);
  }

  get(by: 'item' | 'category', req: TrendRequest): Promise<Trends> {
    return this.cache.get(JSON.stringify([by, req]), () => trending(this.q, by, req));
  }
}

export async function trending(
  q: Queryable,
  by: 'item' | 'category',
  req: TrendRequest,
): Promise<Trends> {
  const days = await datasetDays(q, req.dataset);
  if (!days.hasEvents) throw badUserInput('dataset', `no events in dataset "${req.dataset}"`);
  if (days.newestDay === null)
    throw badUserInput(
      'dataset',
      `dataset "${req.dataset}" has no dated events (its source records no times), so it has no trends`,
    );
  const asOf = req.asOf ?? days.newestDay;
  const recentFrom = addDays(asOf, 1 - req.window);
  const previousFrom = addDays(recentFrom, -req.window);
  const { totals, counts } = await windowCounts(
    q,
    by,
    req.dataset,
    { previousFrom, recentFrom, end: addDays(asOf, 1) },
    req.minSupport,
    req.first,
  );
  // Ranked (growth, then recent count, then id) and cut to `first` by the statement.
  const trends = counts.map((c) => ({
    id: c.key,
    recentCount: c.recent,
    previousCount: c.previous,
    recentShare: totals.recent ? c.recent / totals.recent : 0,
    previousShare: totals.previous ? c.previous / totals.previous : 0,
    growth: (c.recent + 1) / (totals.recent + 1) / ((c.previous + 1) / (totals.previous + 1)),
  }));
  return {
    dataset: req.dataset,
    window: req.window,
    by,
    previousFrom,
    recentFrom,
    asOf,
    recentInteractions: totals.recent,
    previousInteractions: totals.previous,
    trends,
  };
}
