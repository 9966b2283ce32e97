// The candidate-retrieval statements (src/retrieval/candidates.ts): one batched nearest-neighbour
// query over the pgvector HNSW index of an embedding slot, with the forecast's filters inside
// the index scan, and the filter check of items retrieved another way.
import type { Db, SessionSettings } from './client.js';
import { slotColumns, type EmbeddingSlot, type SlotColumns } from './embedding-slots.js';
import { itemCategoryIdsSql } from './items.js';

export interface CandidateFilter {
  categoryIds: readonly string[] | null;
  minPrice: number | null;
  maxPrice: number | null;
  inStockOnly: boolean;
}

/**
 * The settings a candidate query runs with. Given to the database as session settings
 * (`openDb({ settings })`, as src/main.ts does), they save each batch a transaction and a
 * round trip to set them; queries that need other values (e.g. a larger `ef_search`) still set
 * them for their own transaction.
 */
export function retrievalSettings(efSearch: number): SessionSettings {
  return {
    'hnsw.ef_search': String(Math.min(1000, efSearch)),
    // Keep scanning when filters reject neighbours, so selective filters still fill `limit`.
    'hnsw.iterative_scan': 'relaxed_order',
    // JIT compilation is pure overhead for this short, index-driven query (it cost ~300 ms on
    // a cold connection); PGlite has no JIT and ignores the setting.
    jit: 'off',
  };
}

/** pgvector's text form of a vector. */
export function toVectorLiteral(v: Float32Array | readonly number[]): string {
  // A concatenation loop: 3× faster than Array.from(v).join(',') (no intermediate array), and
  // every batch formats one vector per forecast.
  let s = '[';
  for (let i = 0; i < v.length; i++) s += i === 0 ? String(v[i]) : `,${v[i]}`;
  return `${s}]`;
}

export function parseVectorLiteral(text: string): Float32Array {
  return Float32Array.from(JSON.parse(text) as number[]);
}

export interface NeighbourRow {
  /** The query's index. */
  k: number;
  id: string;
  embedding: string | null;
  similarity: number | null;
  category_ids: string[] | null;
}

export interface NeighbourQuery {
  userState: Float32Array;
  /** Items never to return for this query. */
  exclude: readonly string[];
}

/**
 * The rows of one batched nearest-neighbour query: per query (`k`), its `limit` nearest items
 * of `dataset` that pass `filter`. Rows embedded by the model version `knownVersion` come
 * without their vector and categories (the caller has them in memory). Filters run inside the
 * index scan; `hnsw.iterative_scan` keeps scanning when filters reject many neighbours, so
 * selective filters still fill `limit` (pgvector ≥ 0.8). `exact` bypasses the index.
 */
export async function nearestNeighbourRows(
  db: Db,
  queries: readonly NeighbourQuery[],
  filter: CandidateFilter,
  options: {
    dataset: string;
    knownVersion: string | null;
    limit: number;
    efSearch: number;
    exact: boolean;
    slot: EmbeddingSlot | undefined;
  },
): Promise<NeighbourRow[]> {
  const payload = JSON.stringify(
    queries.map((q, k) => ({ k, v: toVectorLiteral(q.userState), x: q.exclude })),
  );
  const params: unknown[] = [payload, options.dataset, options.knownVersion, options.limit];
  const col = slotColumns(options.slot);
  const where = filterConditions(filter, params, col);
  // Items embedded by the loaded model: the vector and the attributes are in memory already
  // (shipping 200 vectors back as text was most of a candidate query's cost).
  const known = (a: string) => `${a}.source = 'model' AND ${a}.version = $3`;
  // MATERIALIZED: each query vector is parsed once. Inlined, `q.v` stayed an expression over
  // the jsonb payload that PostgreSQL re-evaluated (jsonb lookup + vector parse) for every row
  // the index scan returned: 0.75 → 0.49 ms per forecast of index-scan time (auto_explain,
  // 100 Beauty users, ef_search 64), the scan itself unchanged.
  const sql = `
    WITH q AS MATERIALIZED (
      SELECT (r->>'k')::int AS k, (r->>'v')::vector AS v,
             ARRAY(SELECT jsonb_array_elements_text(r->'x')) AS exclude
      FROM jsonb_array_elements($1::jsonb) AS r
    )
    SELECT q.k, c.id, c.similarity,
           CASE WHEN ${known('c')} THEN NULL ELSE c.embedding::text END AS embedding,
           CASE WHEN ${known('c')} THEN NULL ELSE ${itemCategoryIdsSql('c')} END AS category_ids
    FROM q CROSS JOIN LATERAL (
      SELECT i.id, i.${col.embedding} AS embedding, i.${col.source} AS source,
             i.${col.version} AS version, -(i.${col.embedding} <#> q.v) AS similarity
      FROM items i
      WHERE ${[...where, 'NOT (i.id = ANY(q.exclude))'].join('\n        AND ')}
      ORDER BY ${options.exact ? `(i.${col.embedding} <#> q.v) + 0` : `i.${col.embedding} <#> q.v`}
      LIMIT $4
    ) c`;
  const settings = retrievalSettings(Math.max(options.efSearch, options.limit));
  return Object.entries(settings).every(([k, v]) => db.settings[k] === v)
    ? (await db.query<NeighbourRow>(sql, params)).rows
    : await db.transaction(async (tx) => {
        // SET LOCAL scope: the settings end with the transaction, so pooled connections keep
        // their own.
        const pairs = Object.entries(settings);
        await tx.query(
          `SELECT ${pairs.map((_, i) => `set_config($${2 * i + 1}, $${2 * i + 2}, true)`).join(', ')}`,
          pairs.flat(),
        );
        return (await tx.query<NeighbourRow>(sql, params)).rows;
      });
}

/** The ids among `ids` that pass the filters (one statement, one JSON array of ids). */
export async function passingItemIds(
  db: Db,
  ids: readonly string[],
  filter: CandidateFilter,
  dataset: string,
  slot: EmbeddingSlot | undefined,
): Promise<string[]> {
  const params: unknown[] = [ids, dataset];
  const where = filterConditions(filter, params, slotColumns(slot));
  const { rows } = await db.query<{ ids: string[] | null }>(
    `SELECT json_agg(i.id) AS ids FROM items i
     WHERE i.id = ANY($1::text[]) AND ${where.join(' AND ')}`,
    params,
  );
  return rows[0]?.ids ?? [];
}

/**
 * The WHERE conditions of the filters on `items i`, their values appended to `params` ($2 must
 * be the dataset): items with a vector in `col`'s slot (retrieval/candidates.ts' `itemFilter` is the same in memory). Only the filters in use appear in the
 * SQL: "$n IS NULL OR …" guards would leave the planner one generic plan for every
 * combination and cost the index scan its speed.
 */
function filterConditions(filter: CandidateFilter, params: unknown[], col: SlotColumns): string[] {
  const param = (v: unknown) => `$${params.push(v)}`;
  const where = [`i.${col.embedding} IS NOT NULL`, 'i.dataset = $2'];
  if (filter.inStockOnly) where.push('i.in_stock');
  if (filter.minPrice !== null) where.push(`i.price >= ${param(filter.minPrice)}::numeric`);
  if (filter.maxPrice !== null) where.push(`i.price <= ${param(filter.maxPrice)}::numeric`);
  if (filter.categoryIds && filter.categoryIds.length > 0) {
    where.push(`EXISTS (SELECT 1 FROM item_categories f
      WHERE f.item_id = i.id AND f.category_id = ANY(${param(filter.categoryIds)}::text[]))`);
  }
  return where;
}
