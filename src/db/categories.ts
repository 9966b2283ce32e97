// Categories (a tree via parent_id) and the item → categories relation.
import { insertIgnoringConflicts } from './bulk.js';
import type { Queryable } from './client.js';
import { selectPage, type Keyset, type Page, type PageRequest } from './paging.js';

export interface CategoryRow {
  id: string;
  dataset: string;
  name: string;
  parentId: string | null;
}

const COLUMNS = `id, dataset, name, parent_id AS "parentId"`;
export const CATEGORY_KEYSET: Keyset = {
  columns: ['id'],
  types: ['text'],
  direction: 'asc',
};

export async function getCategoriesByIds(
  q: Queryable,
  ids: readonly string[],
): Promise<CategoryRow[]> {
  const { rows } = await q.query<CategoryRow>(
    `SELECT ${COLUMNS} FROM categories WHERE id = ANY($1::text[])`,
    [ids],
  );
  return rows;
}

/** Children of each of `parentIds`, one statement. */
export async function getChildCategories(
  q: Queryable,
  parentIds: readonly string[],
): Promise<CategoryRow[]> {
  const { rows } = await q.query<CategoryRow>(
    `SELECT ${COLUMNS} FROM categories WHERE parent_id = ANY($1::text[]) ORDER BY id`,
    [parentIds],
  );
  return rows;
}

/** Categories of each of `itemIds` (in the item's own order), one statement. */
export async function getCategoriesOfItems(
  q: Queryable,
  itemIds: readonly string[],
): Promise<(CategoryRow & { itemId: string })[]> {
  const { rows } = await q.query<CategoryRow & { itemId: string }>(
    `SELECT ic.item_id AS "itemId", c.id, c.dataset, c.name, c.parent_id AS "parentId"
     FROM item_categories ic JOIN categories c ON c.id = ic.category_id
     WHERE ic.item_id = ANY($1::text[]) ORDER BY ic.item_id, ic.position, c.id`,
    [itemIds],
  );
  return rows;
}

/** Every item of `dataset` with its category ids (an empty list for an item without any). */
export async function categoryIdsOfDatasetItems(
  q: Queryable,
  dataset: string,
): Promise<Map<string, string[]>> {
  const { rows } = await q.query<{ id: string; categories: string[] }>(
    `SELECT i.id, coalesce(array_agg(ic.category_id) FILTER (WHERE ic.category_id IS NOT NULL),
                           '{}') AS categories
     FROM items i LEFT JOIN item_categories ic ON ic.item_id = i.id
     WHERE i.dataset = $1 GROUP BY i.id`,
    [dataset],
  );
  return new Map(rows.map((r) => [r.id, r.categories]));
}

export function listCategories(
  q: Queryable,
  filter: { dataset?: string; rootsOnly?: boolean },
  req: PageRequest,
): Promise<Page<CategoryRow>> {
  const where: string[] = filter.rootsOnly ? ['parent_id IS NULL'] : [];
  const params: unknown[] = [];
  if (filter.dataset !== undefined) {
    params.push(filter.dataset);
    where.push('dataset = $1');
  }
  return selectPage<CategoryRow>(
    q,
    { select: COLUMNS, from: 'categories', where, params, keyset: CATEGORY_KEYSET },
    req,
  );
}

export function insertCategories(q: Queryable, categories: CategoryRow[]): Promise<number> {
  return insertIgnoringConflicts(
    q,
    'categories',
    ['id', 'dataset', 'name', 'parent_id'],
    categories.map((c) => [c.id, c.dataset, c.name, c.parentId]),
  );
}

/** The subset of `ids` that exist. */
export async function existingCategoryIds(
  q: Queryable,
  ids: readonly string[],
): Promise<Set<string>> {
  if (ids.length === 0) return new Set();
  const { rows } = await q.query<{ id: string }>(
    'SELECT id FROM categories WHERE id = ANY($1::text[])',
    [ids],
  );
  return new Set(rows.map((r) => r.id));
}
