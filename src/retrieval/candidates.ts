// Candidate retrieval: user-state vectors → nearest items by inner product through the pgvector
// HNSW index of the model's embedding slot (items.embedding or items.embedding_b,
// db/embedding-slots.ts), with the forecast's filters applied inside the same SQL (db/retrieval.ts).
// One statement serves a whole batch of forecasts (a LATERAL index scan per user state), and one
// more checks the batch's included items (successors, co-occurrence neighbours) against the
// filters.
import type { Db } from '../db/client.js';
import type { KnownItem } from '../inference/model.js';
import { type EmbeddingSlot } from '../db/embedding-slots.js';
import {
  type CandidateFilter,
  nearestNeighbourRows,
  passingItemIds,
  parseVectorLiteral,
} from '../db/retrieval.js';

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
  const rows = await nearestNeighbourRows(db, queries, filter, {
    dataset: options.dataset,
    knownVersion: options.known?.version ?? null,
    limit: options.limit,
    efSearch: options.efSearch,
    exact: options.exact ?? false,
    slot: options.slot,
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
export async function passingItems(
  db: Db,
  items: readonly KnownItem[],
  filter: CandidateFilter,
  options: Pick<RetrievalOptions, 'dataset' | 'known' | 'slot'>,
): Promise<Set<number>> {
  if (items.length === 0) return new Set();
  const ids = await passingItemIds(
    db,
    items.map((c) => c.id),
    filter,
    options.dataset,
    options.slot,
  );
  const passing = new Set<number>();
  for (const id of ids) {
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
export function includedItems(
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

export function fromModel(c: KnownItem, similarity: number): RetrievedItem {
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

/** The error of a row the database marks as the loaded model's that the model does not know. */
export function missing(id: string): never {
  throw new Error(
    `item ${id} is marked as embedded by the loaded model but the model does not know it`,
  );
}
