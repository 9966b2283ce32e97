// Candidate retrieval: user-state vectors → nearest items by inner product through the pgvector
// HNSW index of the model's embedding slot (items.embedding or items.embedding_b,
// retrieval/slots.ts), with the forecast's filters applied inside the same SQL.
// One statement serves a whole batch of forecasts (a LATERAL index scan per user state), and one
// more checks the batch's included items (successors, co-occurrence neighbours) against the
// filters.
import { itemCategoryIdsSql } from '../db/items.js';
import type { Db, SessionSettings } from '../db/client.js';
import type { KnownItem } from '../inference/model.js';
import { slotColumns, type EmbeddingSlot, type SlotColumns } from '../db/embedding-slots.js';

export interface CandidateFilter {
  categoryIds: readonly string[] | null;
  minPrice: number | null;
  maxPrice: number | null;
  inStockOnly: boolean;
}

export interface CandidateQuery {
  userState: Float32Array;
  /** Items never to return for this query (already purchased, already seen). */
  exclude: readonly string[];
  /**
   * Model indices (`options.known`) of items to return as well, whether or not they are among
   * the nearest neighbours (the scorer's Markov and co-occurrence terms can lift them: the
   * recent items' successors and co-occurrence neighbours); filters still apply. They are
   * returned with the model's own embedding and attributes.
   */
  include?: readonly number[];
}

export interface RetrievedItem {
  id: string;
  embedding: Float32Array;
  categoryIds: readonly string[];
  /** Inner product with the user state as computed by pgvector. */
  similarity: number;
  /** The item's model index when its embedding came from `options.known`, else undefined. */
  modelIndex?: number;
  /**
   * An included item added without its filters checked (`addIncluded` without `passing`):
   * `servedTop` checks it in the database before serving it.
   */
  unchecked?: boolean;
}

export interface RetrievalOptions {
  dataset: string;
  /** The embedding columns the model's vectors are in (default a: items.embedding). */
  slot?: EmbeddingSlot;
  limit: number;
  /** HNSW candidate-list size; raised to `limit` when smaller. */
  efSearch: number;
  /** Bypass the index (exact scan): for recall measurements. */
  exact?: boolean;
  /**
   * Embeddings already in memory (the model's learned matrix): rows stored from this model
   * version are not shipped back as text, which is most of the cost of a candidate query.
   */
  known?: KnownCatalogue;
}

/** The loaded model's catalogue in memory (the Model itself). */
export interface KnownCatalogue {
  readonly version: string;
  knownItem(id: string): KnownItem | undefined;
  /** The item at a model index; every index a query includes must resolve. */
  itemAt(index: number): KnownItem | undefined;
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

interface Row {
  /** The query's index. */
  k: number;
  id: string;
  embedding: string | null;
  similarity: number | null;
  category_ids: string[] | null;
}

/**
 * The nearest neighbours and included items of a batch of queries, each list best first: the
 * two statements of `nearestNeighbours` and `passingItems`, run at once, merged by
 * `addIncluded`. Callers that decide what to include from the neighbours (the engine prunes
 * what cannot reach the top) run the steps themselves.
 */
export async function retrieveCandidates(
  db: Db,
  queries: readonly CandidateQuery[],
  filter: CandidateFilter,
  options: RetrievalOptions,
): Promise<RetrievedItem[][]> {
  const [lists, passing] = await Promise.all([
    nearestNeighbours(db, queries, filter, options),
    passingItems(db, includedItems(queries, options.known), filter, options),
  ]);
  return addIncluded(lists, queries, passing, options);
}

/**
 * Runs one batched nearest-neighbour query; returns the neighbours per query, best first.
 * Filters run inside the index scan; `hnsw.iterative_scan` keeps scanning when filters reject
 * many neighbours, so selective filters still fill `limit` (pgvector ≥ 0.8). `include` is not
 * read here (`passingItems`, `addIncluded`).
 */
export async function nearestNeighbours(
  db: Db,
  queries: readonly Omit<CandidateQuery, 'include'>[],
  filter: CandidateFilter,
  options: RetrievalOptions,
): Promise<RetrievedItem[][]> {
  if (queries.length === 0) return [];
  const payload = JSON.stringify(
    queries.map((q, k) => ({ k, v: toVectorLiteral(q.userState), x: q.exclude })),
  );
  const params: unknown[] = [
    payload,
    options.dataset,
    options.known?.version ?? null,
    options.limit,
  ];
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
  const rows = Object.entries(settings).every(([k, v]) => db.settings[k] === v)
    ? (await db.query<Row>(sql, params)).rows
    : await db.transaction(async (tx) => {
        // SET LOCAL scope: the settings end with the transaction, so pooled connections keep
        // their own.
        const pairs = Object.entries(settings);
        await tx.query(
          `SELECT ${pairs.map((_, i) => `set_config($${2 * i + 1}, $${2 * i + 2}, true)`).join(', ')}`,
          pairs.flat(),
        );
        return (await tx.query<Row>(sql, params)).rows;
      });
  const out: RetrievedItem[][] = queries.map(() => []);
  for (const r of rows) {
    const similarity = Number(r.similarity);
    if (r.embedding === null) {
      const mem = options.known?.knownItem(r.id) ?? missing(r.id);
      out[r.k]?.push(fromModel(mem, similarity));
    } else {
      out[r.k]?.push({
        id: r.id,
        embedding: parseVectorLiteral(r.embedding),
        categoryIds: r.category_ids ?? [],
        similarity,
      });
    }
  }
  // relaxed_order may return neighbours slightly out of order: the scorer re-ranks exactly.
  for (const list of out) list.sort((a, b) => b.similarity - a.similarity);
  return out;
}

/**
 * The model indices of `items` (known to the model) that pass the filters in the database: one
 * statement, answered with one JSON array of ids instead of a row each (a batch of 24 Beauty
 * forecasts includes up to ~3,000 items; their embeddings and attributes are the model's, in
 * memory already). Empty `items`: no statement.
 */
async function passingItems(
  db: Db,
  items: readonly KnownItem[],
  filter: CandidateFilter,
  options: Pick<RetrievalOptions, 'dataset' | 'known' | 'slot'>,
): Promise<Set<number>> {
  if (items.length === 0) return new Set();
  const params: unknown[] = [items.map((c) => c.id), options.dataset];
  const where = filterConditions(filter, params, slotColumns(options.slot));
  const { rows } = await db.query<{ ids: string[] | null }>(
    `SELECT json_agg(i.id) AS ids FROM items i
     WHERE i.id = ANY($1::text[]) AND ${where.join(' AND ')}`,
    params,
  );
  const passing = new Set<number>();
  for (const id of rows[0]?.ids ?? []) {
    const index = options.known?.knownItem(id)?.index;
    if (index !== undefined) passing.add(index);
  }
  return passing;
}

/**
 * Adds to each query's list its included items, except its own exclusions and items already
 * listed, with their inner product as similarity; keeps each list best first. With `passing`
 * (`passingItems`) only the items that passed the filters; without, all of them, marked
 * `unchecked` for `servedTop` to check once scored. Returns `lists`, changed in place.
 */
export function addIncluded(
  lists: RetrievedItem[][],
  queries: readonly Pick<CandidateQuery, 'userState' | 'exclude' | 'include'>[],
  passing: ReadonlySet<number> | null,
  options: Pick<RetrievalOptions, 'known'>,
): RetrievedItem[][] {
  queries.forEach((q, k) => {
    const list = lists[k] as RetrievedItem[];
    if (!q.include?.length) return;
    const have = new Set(list.map((c) => c.modelIndex ?? c.id));
    const excluded = new Set(q.exclude);
    for (const index of q.include) {
      if (passing && !passing.has(index)) continue;
      if (have.has(index)) continue;
      const c = options.known?.itemAt(index) as KnownItem;
      if (have.has(c.id) || excluded.has(c.id)) continue;
      have.add(index);
      const item = fromModel(c, innerProduct(c.embedding, q.userState));
      if (!passing) item.unchecked = true;
      list.push(item);
    }
    list.sort((a, b) => b.similarity - a.similarity);
  });
  return lists;
}

/**
 * Each list's best `first` items by `scores` (same positions as the list) that pass the filters:
 * positions into the list, best first. Nearest neighbours passed them in their own statement;
 * `unchecked` included items are checked here, only where they rank: first those among each
 * list's `2 · first` best, then, for a list whose top `first` still holds unchecked items
 * after the failures are dropped, all of its unchecked items. At most two statements per
 * call, usually one small one, instead of a lookup of every included item before scoring
 * (~45 per forecast). Items that passed lose the `unchecked` mark; those that failed keep it
 * and are left out.
 */
export async function servedTop(
  db: Db,
  lists: readonly RetrievedItem[][],
  scores: readonly Float32Array[],
  first: number,
  filter: CandidateFilter,
  options: Pick<RetrievalOptions, 'dataset' | 'known' | 'slot'>,
): Promise<number[][]> {
  let ranked = lists.map((list, i) => {
    const s = scores[i] as Float32Array;
    return list.map((_, k) => k).sort((a, b) => (s[b] as number) - (s[a] as number));
  });
  for (let round = 0; round < 2; round++) {
    const toCheck = new Map<number, KnownItem>();
    const checking = ranked.map((order, i) => {
      const list = lists[i] as RetrievedItem[];
      const window = round === 0 ? order.slice(0, 2 * first) : order;
      if (round > 0 && !order.slice(0, first).some((k) => list[k]?.unchecked)) return [];
      const mine = window.filter((k) => list[k]?.unchecked);
      for (const k of mine) {
        const index = (list[k] as RetrievedItem).modelIndex as number;
        toCheck.set(index, options.known?.itemAt(index) as KnownItem);
      }
      return mine;
    });
    if (toCheck.size === 0) break;
    const passing = await passingItems(db, [...toCheck.values()], filter, options);
    ranked = ranked.map((order, i) => {
      const list = lists[i] as RetrievedItem[];
      const failed = new Set<number>();
      for (const k of checking[i] as number[]) {
        const c = list[k] as RetrievedItem;
        if (passing.has(c.modelIndex as number)) c.unchecked = false;
        else failed.add(k);
      }
      return failed.size === 0 ? order : order.filter((k) => !failed.has(k));
    });
  }
  return ranked.map((order) => order.slice(0, first));
}

/**
 * The WHERE conditions of the filters on `items i`, their values appended to `params` ($2 must
 * be the dataset): items with a vector in `col`'s slot (`itemFilter` is the same in memory). Only the filters in use appear in the
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

/**
 * The same filters as `filterConditions`, for items already in memory (the popularity and
 * cold-start rankings, forecast/coldstart.ts): keep the two in step.
 */
export function itemFilter(
  filter: CandidateFilter,
): (item: { price: number | null; inStock: boolean; categoryIds: readonly string[] }) => boolean {
  const wanted = filter.categoryIds?.length ? new Set(filter.categoryIds) : null;
  return (it) =>
    (!filter.inStockOnly || it.inStock) &&
    (filter.minPrice === null || (it.price !== null && it.price >= filter.minPrice)) &&
    (filter.maxPrice === null || (it.price !== null && it.price <= filter.maxPrice)) &&
    (!wanted || it.categoryIds.some((c) => wanted.has(c)));
}

/** The distinct included items of a batch, in order of first appearance. */
function includedItems(
  queries: readonly Pick<CandidateQuery, 'include'>[],
  known: KnownCatalogue | undefined,
): KnownItem[] {
  const seen = new Set<number>();
  const items: KnownItem[] = [];
  for (const q of queries) {
    for (const index of q.include ?? []) {
      if (seen.has(index)) continue;
      seen.add(index);
      const c = known?.itemAt(index);
      if (!c) throw new Error(`included item ${index} is not an item of the loaded model`);
      items.push(c);
    }
  }
  return items;
}

function fromModel(c: KnownItem, similarity: number): RetrievedItem {
  return {
    id: c.id,
    embedding: c.embedding,
    categoryIds: c.attributeIds,
    similarity,
    modelIndex: c.index,
  };
}

/** <a, b> of two vectors of one length. */
export function innerProduct(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] as number) * (b[i] as number);
  return s;
}

function missing(id: string): never {
  throw new Error(
    `item ${id} is marked as embedded by the loaded model but the model does not know it`,
  );
}
