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

/** What a catalogue write did: the ids that were new, those that existed and changed, and how
 * many item → category links it wrote. */
export interface ItemsWritten {
  inserted: string[];
  updated: string[];
  links: number;
}

/**
 * Inserts or replaces items and their categories (each item's list replaces its stored one), in
 * a few statements whatever their number; ids must be distinct. An item whose fields and
 * category list are what is stored is left as it is (`updatedAt` and its embeddings kept). A
 * changed one gets `updatedAt` now and loses its content embeddings in both embedding slots
 * (db/embedding-slots.ts), so that each model's content tower re-embeds it (the serving model's at
 * once, in the caller's transaction; the other slot's model when it is synced: a rollback, a
 * restart); a learned embedding does not depend on the content and is kept.
 */
export async function upsertItems(q: Queryable, items: ItemUpsert[]): Promise<ItemsWritten> {
  if (items.length === 0) return { inserted: [], updated: [], links: 0 };
  // One order for the rows every write locks, so that concurrent writes do not deadlock.
  const sorted = [...items].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const ids = sorted.map((i) => i.id);
  const { rows: stored } = await q.query<{ id: string; categoryIds: string[] }>(
    `SELECT i.id, ${itemCategoryIdsSql('i')} AS "categoryIds"
     FROM items i WHERE i.id = ANY($1::text[]) ORDER BY i.id FOR UPDATE`,
    [ids],
  );
  const storedLinks = new Map(stored.map((r) => [r.id, r.categoryIds]));
  const relinked = sorted
    .filter((i) => {
      const before = storedLinks.get(i.id);
      return before === undefined || before.join('\u0000') !== i.categoryIds.join('\u0000');
    })
    .map((i) => i.id);
  const { rows: written } = await q.query<{ id: string }>(
    `INSERT INTO items AS i (id, dataset, title, description, brand, price, in_stock, attributes)
     SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[],
                          $6::numeric[], $7::bool[], $8::jsonb[])
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
     WHERE i.id = ANY($9::text[])
        OR (i.title, i.description, i.brand, i.price, i.in_stock, i.attributes)
           IS DISTINCT FROM (EXCLUDED.title, EXCLUDED.description, EXCLUDED.brand,
                             EXCLUDED.price, EXCLUDED.in_stock, EXCLUDED.attributes)
     RETURNING i.id`,
    [
      ids,
      sorted.map((i) => i.dataset),
      sorted.map((i) => i.title),
      sorted.map((i) => i.description),
      sorted.map((i) => i.brand),
      sorted.map((i) => i.price),
      sorted.map((i) => i.inStock),
      sorted.map((i) => JSON.stringify(i.attributes)),
      relinked,
    ],
  );
  let links = 0;
  if (relinked.length > 0) {
    await q.query('DELETE FROM item_categories WHERE item_id = ANY($1::text[])', [relinked]);
    const byId = new Map(sorted.map((i) => [i.id, i]));
    links = await insertItemCategories(
      q,
      relinked.flatMap((id) =>
        (byId.get(id) as ItemUpsert).categoryIds.map((categoryId, position) => ({
          itemId: id,
          categoryId,
          position,
        })),
      ),
    );
  }
  const changed = written.map((r) => r.id);
  return {
    inserted: changed.filter((id) => !storedLinks.has(id)),
    updated: changed.filter((id) => storedLinks.has(id)),
    links,
  };
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

/**
 * Gives items the title and brand a source names, where the stored item has none (a shop's
 * own values are kept); one statement per 5,000 items. Returns how many items changed.
 */
export async function fillItemNames(
  q: Queryable,
  names: { id: string; title: string | null; brand: string | null }[],
): Promise<number> {
  let changed = 0;
  for (let at = 0; at < names.length; at += 5000) {
    const chunk = names.slice(at, at + 5000);
    const { rows } = await q.query<{ n: number }>(
      `WITH u AS (
         UPDATE items AS i SET title = COALESCE(i.title, v.title),
                               brand = COALESCE(i.brand, v.brand), updated_at = now()
         FROM unnest($1::text[], $2::text[], $3::text[]) AS v (id, title, brand)
         WHERE i.id = v.id
           AND ((i.title IS NULL AND v.title IS NOT NULL) OR (i.brand IS NULL AND v.brand IS NOT NULL))
         RETURNING 1
       ) SELECT count(*)::int AS n FROM u`,
      [chunk.map((n) => n.id), chunk.map((n) => n.title), chunk.map((n) => n.brand)],
    );
    changed += rows[0]?.n ?? 0;
  }
  return changed;
}

/** The titles of those of `ids` that have one, by id. */
export async function itemTitles(
  q: Queryable,
  ids: readonly string[],
): Promise<Map<string, string>> {
  if (ids.length === 0) return new Map();
  const { rows } = await q.query<{ id: string; title: string }>(
    'SELECT id, title FROM items WHERE id = ANY($1::text[]) AND title IS NOT NULL',
    [ids],
  );
  return new Map(rows.map((r) => [r.id, r.title]));
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
