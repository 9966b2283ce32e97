// Popularity baseline: the most-interacted items of a dataset. It is what a storefront shows
// without a model, so the API serves it on request for comparison, and for shoppers the model
// knows nothing about (no events on items it was trained on).
import { itemCategoryIdsSql } from '../db/items.js';
import type { Queryable } from '../db/client.js';

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
}

const TOP_ITEMS = 2000;

/** Per-dataset popularity, recomputed at most every `ttlMs` (one aggregate query). */
export class PopularityRanking {
  private readonly cache = new Map<string, { at: number; snapshot: Promise<PopularitySnapshot> }>();

  constructor(
    private readonly db: Queryable,
    private readonly ttlMs = 60_000,
  ) {}

  get(dataset: string): Promise<PopularitySnapshot> {
    const hit = this.cache.get(dataset);
    if (hit && Date.now() - hit.at < this.ttlMs) return hit.snapshot;
    const snapshot = this.compute(dataset);
    this.cache.set(dataset, { at: Date.now(), snapshot });
    snapshot.catch(() => this.cache.delete(dataset));
    return snapshot;
  }

  private async compute(dataset: string): Promise<PopularitySnapshot> {
    const { rows } = await this.db.query<{
      id: string;
      n: number;
      price: number | null;
      in_stock: boolean;
      category_ids: string[];
    }>(
      `SELECT c.item_id AS id, c.n, i.price::float8 AS price, i.in_stock,
              ${itemCategoryIdsSql('i')} AS category_ids
       FROM (SELECT item_id, count(*)::int AS n FROM events
             WHERE dataset = $1 AND item_id IS NOT NULL
             GROUP BY item_id ORDER BY n DESC, item_id LIMIT $2) c
       JOIN items i ON i.id = c.item_id
       ORDER BY c.n DESC, c.item_id`,
      [dataset, TOP_ITEMS],
    );
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
      .map(([categoryId, n]) => ({ categoryId, probability: n / total }))
      .sort((a, b) => b.probability - a.probability);
    return { items, categories };
  }
}
