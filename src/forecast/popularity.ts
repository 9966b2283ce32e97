// Popularity rankings: the most-interacted items of a scope — a dataset (the baseline a
// storefront shows without a model, served on request for comparison), one category of it,
// the shoppers of one profile segment, or every dataset at once — and a dataset's catalogue
// newest first (a shop with products but no events yet). They serve shoppers the model cannot
// read (forecast/coldstart.ts).
import { popularItemRows } from '../db/popularity.js';
import type { Queryable } from '../db/client.js';
import { TtlCache } from '../ttl-cache.js';

export interface PopularItem {
  id: string;
  count: number;
  price: number | null;
  inStock: boolean;
  categoryIds: string[];
}

export interface PopularitySnapshot {
  items: PopularItem[];
  /** Share of category-tagged interactions per category, largest first; sums to 1. */
  categories: { categoryId: string; probability: number }[];
  /** Interactions (events with an item) in the scope, not only those of the listed items. */
  interactions: number;
}

import type { PopularityScope } from '../db/popularity.js';

const TOP_ITEMS = 2000;
const MAX_CACHED = 1000;

/** Per-scope rankings, recomputed at most every `ttlMs` (one aggregate query per scope). */
export class PopularityRanking {
  private readonly cache: TtlCache<PopularitySnapshot>;

  constructor(
    private readonly db: Queryable,
    ttlMs = 60_000,
  ) {
    this.cache = new TtlCache(ttlMs, MAX_CACHED);
  }

  of(scope: PopularityScope): Promise<PopularitySnapshot> {
    return this.cache.get(JSON.stringify(scope), () => this.compute(scope));
  }

  private async compute(scope: PopularityScope): Promise<PopularitySnapshot> {
    const rows = await popularItemRows(this.db, scope, TOP_ITEMS);
    const items = rows.map((r) => ({
      id: r.id,
      count: r.n,
      price: r.price,
      inStock: r.in_stock,
      categoryIds: r.category_ids,
    }));
    const perCategory = new Map<string, number>();
    let total = 0;
    for (const it of items) {
      for (const c of it.categoryIds) {
        perCategory.set(c, (perCategory.get(c) ?? 0) + it.count);
        total += it.count;
      }
    }
    const categories = [...perCategory]
      .filter(([, n]) => n > 0)
      .map(([categoryId, n]) => ({ categoryId, probability: n / total }))
      .sort((a, b) => b.probability - a.probability);
    return { items, categories, interactions: rows[0]?.total ?? 0 };
  }
}
