// Catalogue items: lookups, filtered listing, upsert from the API and bulk insert from imports.
import { insertIgnoringConflicts } from './bulk.js';
import type { Queryable } from './client.js';
import { selectPage, type Keyset, type Page, type PageRequest } from './paging.js';

export interface ItemRow {
  id: string;
  dataset: string;
  title: string | null;
  description: string | null;
  brand: string | null;
  price: number | null;
  inStock: boolean;
  attributes: Record<string, unknown>;
  createdAt: Date;
  updatedAt: Date;
  /** Embedding slot a (items.embedding); Item.embeddingSource reads the serving model's slot. */
  embeddingSource: 'model' | 'content' | null;
  embeddingModelVersion: string | null;
  /** Embedding slot b (items.embedding_b, migration 016). */
  embeddingBSource: 'model' | 'content' | null;
  embeddingBModelVersion: string | null;
}

export const ITEM_COLUMNS = `id, dataset, title, description, brand, price::float8 AS price,
  in_stock AS "inStock", attributes, created_at AS "createdAt", updated_at AS "updatedAt",
  embedding_source AS "embeddingSource", embedding_model_version AS "embeddingModelVersion",
  embedding_b_source AS "embeddingBSource", embedding_b_model_version AS "embeddingBModelVersion"`;

/** SQL for the category ids of item `alias` as an array, in the source's order. */
export const itemCategoryIdsSql = (alias: string) =>
  `ARRAY(SELECT ic.category_id FROM item_categories ic
         WHERE ic.item_id = ${alias}.id ORDER BY ic.position, ic.category_id)`;

export const ITEM_KEYSET: Keyset = {
  columns: ['id'],
  types: ['text'],
  direction: 'asc',
};

export async function getItemsByIds(q: Queryable, ids: readonly string[]): Promise<ItemRow[]> {
  const { rows } = await q.query<ItemRow>(
    `SELECT ${ITEM_COLUMNS} FROM items WHERE id = ANY($1::text[])`,
    [ids],
  );
  return rows;
}

export interface ItemFilter {
  dataset?: string;
  categoryId?: string;
  brand?: string;
  minPrice?: number;
  maxPrice?: number;
  /** Case-insensitive substring of title or description. */
  text?: string;
  inStock?: boolean;
}

const likePattern = (s: string) => `%${s.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

export function listItems(
  q: Queryable,
  filter: ItemFilter,
  req: PageRequest,
): Promise<Page<ItemRow>> {
  const params: unknown[] = [];
  const where: string[] = [];
  const add = (sql: (p: string) => string, v: unknown) => {
    params.push(v);
    where.push(sql(`$${params.length}`));
  };
  if (filter.dataset !== undefined) add((p) => `dataset = ${p}`, filter.dataset);
  if (filter.brand !== undefined) add((p) => `brand = ${p}`, filter.brand);
  if (filter.minPrice !== undefined) add((p) => `price >= ${p}::numeric`, filter.minPrice);
  if (filter.maxPrice !== undefined) add((p) => `price <= ${p}::numeric`, filter.maxPrice);
  if (filter.inStock !== undefined) add((p) => `in_stock = ${p}`, filter.inStock);
  if (filter.categoryId !== undefined)
    add(
      (p) =>
        `EXISTS (SELECT 1 FROM item_categories ic WHERE ic.item_id = items.id AND ic.category_id = ${p})`,
      filter.categoryId,
    );
  if (filter.text !== undefined)
    add((p) => `(title ILIKE ${p} OR description ILIKE ${p})`, likePattern(filter.text));
  return selectPage<ItemRow>(
    q,
    { select: ITEM_COLUMNS, from: 'items', where, params, keyset: ITEM_KEYSET },
    req,
  );
}

export type ItemUpsert = Pick<
  ItemRow,
  'id' | 'dataset' | 'title' | 'description' | 'brand' | 'price' | 'inStock' | 'attributes'
> & { categoryIds: string[] };

/** Inserts or replaces an item and its categories. Content changed → its content embeddings
 * are cleared in both embedding slots (db/embedding-slots.ts), so that each model's content tower
 * re-embeds it (the serving model's at once, in the caller's transaction; the other slot's
 * model when it is synced: a rollback, a restart); a learned embedding does not depend on the
 * content and is kept. Returns the stored row. */
export async function upsertItem(q: Queryable, item: ItemUpsert): Promise<ItemRow> {
  const { rows } = await q.query<ItemRow>(
    `INSERT INTO items AS i (id, dataset, title, description, brand, price, in_stock, attributes)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8::text::jsonb)
     ON CONFLICT (id) DO UPDATE SET
       title = EXCLUDED.title, description = EXCLUDED.description, brand = EXCLUDED.brand,
       price = EXCLUDED.price, in_stock = EXCLUDED.in_stock, attributes = EXCLUDED.attributes,
       updated_at = now(),
       embedding = CASE WHEN i.embedding_source = 'model' THEN i.embedding END,
       embedding_source = CASE WHEN i.embedding_source = 'model' THEN i.embedding_source END,
       embedding_model_version = CASE WHEN i.embedding_source = 'model' THEN i.embedding_model_version END,
       embedding_b = CASE WHEN i.embedding_b_source = 'model' THEN i.embedding_b END,
       embedding_b_source = CASE WHEN i.embedding_b_source = 'model' THEN i.embedding_b_source END,
       embedding_b_model_version = CASE WHEN i.embedding_b_source = 'model' THEN i.embedding_b_model_version END
     RETURNING ${ITEM_COLUMNS}`,
    [
      item.id,
      item.dataset,
      item.title,
      item.description,
      item.brand,
      item.price,
      item.inStock,
      JSON.stringify(item.attributes),
    ],
  );
  await q.query('DELETE FROM item_categories WHERE item_id = $1', [item.id]);
  await insertItemCategories(
    q,
    item.categoryIds.map((c, i) => ({
      itemId: item.id,
      categoryId: c,
      position: i,
    })),
  );
  const row = rows[0];
  if (!row) throw new Error(`upsert of item ${item.id} returned no row`);
  return row;
}

export interface NewItem {
  id: string;
  dataset: string;
  attributes?: Record<string, unknown>;
}

export function insertItems(q: Queryable, items: NewItem[]): Promise<number> {
  return insertIgnoringConflicts(
    q,
    'items',
    ['id', 'dataset', 'attributes'],
    items.map((i) => [i.id, i.dataset, JSON.stringify(i.attributes ?? {})]),
    { attributes: 'text::jsonb' },
  );
}

export function insertItemCategories(
  q: Queryable,
  links: { itemId: string; categoryId: string; position: number }[],
): Promise<number> {
  return insertIgnoringConflicts(
    q,
    'item_categories',
    ['item_id', 'category_id', 'position'],
    links.map((l) => [l.itemId, l.categoryId, l.position]),
  );
}

/** The subset of `ids` that exist. */
export async function existingItemIds(q: Queryable, ids: readonly string[]): Promise<Set<string>> {
  if (ids.length === 0) return new Set();
  const { rows } = await q.query<{ id: string }>(
    'SELECT id FROM items WHERE id = ANY($1::text[])',
    [ids],
  );
  return new Set(rows.map((r) => r.id));
}

/** `dataset`'s stored items, and how many of them are among `ids`. */
export async function countStoredAmong(
  q: Queryable,
  dataset: string,
  ids: readonly string[],
): Promise<{ stored: number; known: number }> {
  const { rows } = await q.query<{ stored: number; known: number }>(
    `SELECT count(*)::int AS stored, (count(*) FILTER (WHERE id = ANY($2::text[])))::int AS known
     FROM items WHERE dataset = $1`,
    [dataset, ids],
  );
  return rows[0] ?? { stored: 0, known: 0 };
}
