// Popularity rankings: the most-interacted items of a scope — a dataset (the baseline a
// storefront shows without a model, served on request for comparison), one category of it,
// the shoppers of one profile segment, or every dataset at once — and a dataset's catalogue
// newest first (a shop with products but no events yet). They serve shoppers the model cannot
// read (forecast/coldstart.ts).
import { itemCategoryIdsSql } from '../db/items.js';
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

/** Profile attributes that a segment's users all have (`users.profile @> segment`). */
export type Segment = Record<string, string | number | boolean>;

export type PopularityScope =
  | { kind: 'dataset'; dataset: string }
  | { kind: 'category'; dataset: string; categoryId: string }
  /** Users of `dataset` whose profile contains every attribute of `segment`. */
  | { kind: 'segment'; dataset: string; segment: Segment }
  | { kind: 'catalogue'; dataset: string }
  | { kind: 'global' };

const TOP_ITEMS = 2000;
const MAX_CACHED = 1000;

/** The scope's interactions as (item_id) rows, with its parameters after $1 = TOP_ITEMS. */
function interactionsOf(scope: PopularityScope): { from: string; params: unknown[] } {
  switch (scope.kind) {
    case 'dataset':
      return {
        from: `SELECT item_id FROM events WHERE dataset = $2 AND item_id IS NOT NULL`,
        params: [scope.dataset],
      };
    case 'category':
      return {
        from: `SELECT e.item_id FROM item_categories ic JOIN events e ON e.item_id = ic.item_id
               WHERE ic.category_id = $3 AND e.dataset = $2`,
        params: [scope.dataset, scope.categoryId],
      };
    case 'segment':
      return {
        from: `SELECT e.item_id FROM users u JOIN events e ON e.user_id = u.id
               WHERE u.dataset = $2 AND u.profile @> $3::jsonb AND e.item_id IS NOT NULL`,
        params: [scope.dataset, JSON.stringify(scope.segment)],
      };
    case 'catalogue':
      throw new Error('the catalogue scope has no interactions');
    case 'global':
      return { from: `SELECT item_id FROM events WHERE item_id IS NOT NULL`, params: [] };
  }
}

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
    const columns = `i.price::float8 AS price, i.in_stock, ${itemCategoryIdsSql('i')} AS category_ids`;
    type Row = {
      id: string;
      n: number;
      total: number;
      price: number | null;
      in_stock: boolean;
      category_ids: string[];
    };
    let rows: Row[];
    if (scope.kind === 'catalogue') {
      ({ rows } = await this.db.query<Row>(
        `SELECT i.id, 0 AS n, 0 AS total, ${columns} FROM items i WHERE i.dataset = $2
         ORDER BY i.created_at DESC, i.id LIMIT $1`,
        [TOP_ITEMS, scope.dataset],
      ));
    } else {
      const { from, params } = interactionsOf(scope);
      ({ rows } = await this.db.query<Row>(
        `SELECT c.item_id AS id, c.n, c.total::float8 AS total, ${columns}
         FROM (SELECT item_id, count(*)::int AS n, sum(count(*)) OVER () AS total
               FROM (${from}) x GROUP BY item_id ORDER BY n DESC, item_id LIMIT $1) c
         JOIN items i ON i.id = c.item_id
         ORDER BY c.n DESC, c.item_id`,
        [TOP_ITEMS, ...params],
      ));
    }
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
