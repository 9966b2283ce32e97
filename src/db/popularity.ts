// The popularity rankings' statements (src/forecast/popularity.ts): the most-interacted items of
// a scope, or a dataset's catalogue newest first.
import type { Queryable } from './client.js';
import { itemCategoryIdsSql } from './items.js';

/** Profile attributes that a segment's users all have (`users.profile @> segment`). */
export type Segment = Record<string, string | number | boolean>;

export type PopularityScope =
  | { kind: 'dataset'; dataset: string }
  | { kind: 'category'; dataset: string; categoryId: string }
  /** Users of `dataset` whose profile contains every attribute of `segment`. */
  | { kind: 'segment'; dataset: string; segment: Segment }
  | { kind: 'catalogue'; dataset: string }
  | { kind: 'global' };

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

export interface PopularItemRow {
  id: string;
  /** The item's interactions in the scope (0 for the catalogue scope). */
  n: number;
  /** Interactions in the whole scope, on every row (0 for the catalogue scope). */
  total: number;
  price: number | null;
  in_stock: boolean;
  category_ids: string[];
}

/** The scope's `limit` most-interacted items, most first (the catalogue scope: newest first). */
export async function popularItemRows(
  db: Queryable,
  scope: PopularityScope,
  limit: number,
): Promise<PopularItemRow[]> {
  const columns = `i.price::float8 AS price, i.in_stock, ${itemCategoryIdsSql('i')} AS category_ids`;
  if (scope.kind === 'catalogue') {
    const { rows } = await db.query<PopularItemRow>(
      `SELECT i.id, 0 AS n, 0 AS total, ${columns} FROM items i WHERE i.dataset = $2
       ORDER BY i.created_at DESC, i.id LIMIT $1`,
      [limit, scope.dataset],
    );
    return rows;
  }
  const { from, params } = interactionsOf(scope);
  const { rows } = await db.query<PopularItemRow>(
    `SELECT c.item_id AS id, c.n, c.total::float8 AS total, ${columns}
     FROM (SELECT item_id, count(*)::int AS n, sum(count(*)) OVER () AS total
           FROM (${from}) x GROUP BY item_id ORDER BY n DESC, item_id LIMIT $1) c
     JOIN items i ON i.id = c.item_id
     ORDER BY c.n DESC, c.item_id`,
    [limit, ...params],
  );
  return rows;
}
