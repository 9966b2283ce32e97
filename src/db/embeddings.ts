// The item-embedding columns' statements (two slots, db/embedding-slots.ts): content read for
// the content tower, vectors written per slot, which items a version has not embedded, the
// columns' dimensions, and the vacuum a rewrite of many rows needs.
import type { Queryable } from './client.js';
import { EMBEDDING_SLOTS, slotColumns, type EmbeddingSlot } from './embedding-slots.js';
import { itemCategoryIdsSql } from './items.js';

export interface ItemContentRow {
  id: string;
  title: string | null;
  description: string | null;
  price: string | null;
  category_ids: string[];
  updated_at: string;
}

/** The content of items as the content tower reads it, and when each was last changed. */
export async function itemContentRows(
  db: Queryable,
  ids: readonly string[],
): Promise<ItemContentRow[]> {
  const { rows } = await db.query<ItemContentRow>(
    `SELECT i.id, i.title, i.description, i.price::text AS price,
            ${itemCategoryIdsSql('i')} AS category_ids, i.updated_at::text AS updated_at
     FROM items i WHERE i.id = ANY($1::text[])`,
    [ids],
  );
  return rows;
}

/**
 * Writes vectors (pgvector text) into `slot` for `ids`, with their source and the model
 * version; a row with a `readAt` time is written only if the item was not changed after it (its
 * content was read then). The sources of the rows written.
 */
export async function writeEmbeddingRows(
  db: Queryable,
  slot: EmbeddingSlot,
  version: string,
  rows: {
    ids: readonly string[];
    vectors: readonly string[];
    sources: readonly ('model' | 'content')[];
    readAt: readonly (string | null)[];
  },
): Promise<string[]> {
  const col = slotColumns(slot);
  const { rows: written } = await db.query<{ s: string }>(
    `UPDATE items AS i
     SET ${col.embedding} = u.e::vector, ${col.source} = u.s, ${col.version} = $4
     FROM (SELECT unnest($1::text[]) AS id, unnest($2::text[]) AS e, unnest($3::text[]) AS s,
                  unnest($5::text[]) AS t) u
     WHERE i.id = u.id AND (u.t IS NULL OR i.updated_at = u.t::timestamptz)
     RETURNING u.s`,
    [rows.ids, rows.vectors, rows.sources, version, rows.readAt],
  );
  return written.map((r) => r.s);
}

/** Ids of `dataset`'s items whose vector in `slot` is not `version`'s (or none), in id order. */
export async function staleEmbeddingIds(
  db: Queryable,
  dataset: string,
  version: string,
  slot: EmbeddingSlot | undefined,
): Promise<string[]> {
  const col = slotColumns(slot);
  const { rows } = await db.query<{ id: string }>(
    `SELECT id FROM items
     WHERE dataset = $1 AND ${col.version} IS DISTINCT FROM $2 ORDER BY id`,
    [dataset, version],
  );
  return rows.map((r) => r.id);
}

/** How many of `dataset`'s items each slot holds from `version`. */
export async function embeddedPerSlot(
  db: Queryable,
  dataset: string,
  version: string,
): Promise<Record<EmbeddingSlot, number>> {
  const [a, b] = EMBEDDING_SLOTS.map((s) => slotColumns(s).version);
  const { rows } = await db.query<{ a: number; b: number }>(
    `SELECT count(*) FILTER (WHERE ${a} = $2)::int AS a, count(*) FILTER (WHERE ${b} = $2)::int AS b
     FROM items WHERE dataset = $1`,
    [dataset, version],
  );
  return rows[0] ?? { a: 0, b: 0 };
}

/** Each slot's embedding column with its dimension (null when the column is missing). */
export async function embeddingColumnDims(
  db: Queryable,
): Promise<{ column: string; dim: number | null }[]> {
  const columns = EMBEDDING_SLOTS.map((s) => slotColumns(s).embedding);
  const { rows } = await db.query<{ column: string; dim: number }>(
    `SELECT attname AS column, atttypmod AS dim FROM pg_attribute
     WHERE attrelid = 'items'::regclass AND attname = ANY($1::text[]) AND NOT attisdropped`,
    [columns],
  );
  const found = new Map(rows.map((r) => [r.column, r.dim]));
  return columns.map((column) => ({ column, dim: found.get(column) ?? null }));
}

/** Records a task for the next start-up (pending_maintenance). */
export async function deferMaintenance(db: Queryable, task: string): Promise<void> {
  await db.query(
    `INSERT INTO pending_maintenance (task) VALUES ($1) ON CONFLICT (task) DO NOTHING`,
    [task],
  );
}

/** Takes a deferred task off the list; whether it was there. */
export async function takeMaintenance(db: Queryable, task: string): Promise<boolean> {
  const { rows } = await db.query(`DELETE FROM pending_maintenance WHERE task = $1 RETURNING 1`, [
    task,
  ]);
  return rows.length > 0;
}

/** VACUUM (ANALYZE) items; `db` must not be inside a transaction. */
export async function vacuumItemsTable(db: Queryable): Promise<void> {
  await db.query('VACUUM (ANALYZE) items');
}
