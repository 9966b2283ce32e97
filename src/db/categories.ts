// Categories (a tree via parent_id) and the item → categories relation.
import { insertIgnoringConflicts } from './bulk.js';
import type { Queryable } from './client.js';
import { selectPage, type Keyset, type Page, type PageRequest } from './paging.js';

export interface CategoryRow {
  id: string;
  dataset: string;
  name: string;
  parentId: string | null;
  /** Order among its siblings (then id). */
  position: number;
}

/** A category as the importers and the tree writes give it (position 0 when not given). */
export type NewCategory = Omit<CategoryRow, 'position'> & { position?: number };

const COLUMNS = `id, dataset, name, parent_id AS "parentId", position`;
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
    `SELECT ${COLUMNS} FROM categories WHERE parent_id = ANY($1::text[]) ORDER BY position, id`,
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
    `SELECT ic.item_id AS "itemId", c.id, c.dataset, c.name, c.parent_id AS "parentId", c.position
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

export function insertCategories(q: Queryable, categories: NewCategory[]): Promise<number> {
  return insertIgnoringConflicts(
    q,
    'categories',
    ['id', 'dataset', 'name', 'parent_id', 'position'],
    categories.map((c) => [c.id, c.dataset, c.name, c.parentId, c.position ?? 0]),
    { position: 'int' },
  );
}

/**
 * Takes the transaction's lock on `dataset`'s category tree: writes that check the tree (no
 * cycle, names unique among siblings) and then change it run one at a time per dataset, so
 * that two concurrent calls cannot each pass the checks and together break them.
 */
export async function lockCategoryTree(q: Queryable, dataset: string): Promise<void> {
  await q.query(
    `SELECT pg_advisory_xact_lock(hashtextextended('foresight.categories:' || $1, 0))`,
    [dataset],
  );
}

/** `ids` that exist and all their ancestors, each with its stored parent. */
export async function categoryAncestry(
  q: Queryable,
  ids: readonly string[],
): Promise<{ id: string; parentId: string | null }[]> {
  if (ids.length === 0) return [];
  const { rows } = await q.query<{ id: string; parentId: string | null }>(
    `WITH RECURSIVE up AS (
       SELECT id, parent_id FROM categories WHERE id = ANY($1::text[])
       UNION
       SELECT c.id, c.parent_id FROM categories c JOIN up ON c.id = up.parent_id
     ) SELECT id, parent_id AS "parentId" FROM up`,
    [ids],
  );
  return rows;
}

/**
 * `dataset`'s categories under the given parents (`roots`: also its roots), except `excluded`:
 * the siblings a tree write must keep names unique against.
 */
export async function childrenOf(
  q: Queryable,
  dataset: string,
  parentIds: readonly string[],
  roots: boolean,
  excluded: readonly string[],
): Promise<CategoryRow[]> {
  const { rows } = await q.query<CategoryRow>(
    `SELECT ${COLUMNS} FROM categories
     WHERE dataset = $1 AND (parent_id = ANY($2::text[]) OR ($3 AND parent_id IS NULL))
       AND NOT id = ANY($4::text[])`,
    [dataset, parentIds, roots, excluded],
  );
  return rows;
}

/** `dataset`'s categories named any of `names` (what a name path can resolve to). */
export async function categoriesNamed(
  q: Queryable,
  dataset: string,
  names: readonly string[],
): Promise<CategoryRow[]> {
  if (names.length === 0) return [];
  const { rows } = await q.query<CategoryRow>(
    `SELECT ${COLUMNS} FROM categories WHERE dataset = $1 AND name = ANY($2::text[]) ORDER BY id`,
    [dataset, names],
  );
  return rows;
}

/**
 * Creates or replaces categories (name, parent, position) in one statement; a parent may be
 * another row of the same statement. The caller has checked the tree (src/catalog/).
 */
export async function upsertCategories(q: Queryable, categories: CategoryRow[]): Promise<void> {
  if (categories.length === 0) return;
  await q.query(
    `INSERT INTO categories AS c (id, dataset, name, parent_id, position)
     SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::int[])
     ON CONFLICT (id) DO UPDATE SET
       name = EXCLUDED.name, parent_id = EXCLUDED.parent_id, position = EXCLUDED.position
     WHERE (c.name, c.parent_id, c.position)
       IS DISTINCT FROM (EXCLUDED.name, EXCLUDED.parent_id, EXCLUDED.position)`,
    [
      categories.map((c) => c.id),
      categories.map((c) => c.dataset),
      categories.map((c) => c.name),
      categories.map((c) => c.parentId),
      categories.map((c) => c.position),
    ],
  );
}

/**
 * Names an importer's anonymous categories (still called `attribute <n>`, as the Amazon
 * importer creates them) and sets their parents; a category someone renamed is left alone.
 * The parents must exist. Returns how many categories changed.
 */
export async function nameAnonymousCategories(
  q: Queryable,
  names: { id: string; name: string; parentId: string | null }[],
): Promise<number> {
  if (names.length === 0) return 0;
  const { rows } = await q.query<{ n: number }>(
    `WITH u AS (
       UPDATE categories AS c SET name = v.name, parent_id = v.parent_id
       FROM unnest($1::text[], $2::text[], $3::text[]) AS v (id, name, parent_id)
       WHERE c.id = v.id AND c.name ~ '^attribute [0-9]+$'
       RETURNING 1
     ) SELECT count(*)::int AS n FROM u`,
    [names.map((n) => n.id), names.map((n) => n.name), names.map((n) => n.parentId)],
  );
  return rows[0]?.n ?? 0;
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
