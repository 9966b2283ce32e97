// Exact candidate retrieval in the gateway, for catalogues small enough that scanning every
// vector costs less than the pgvector HNSW statement (bench/retrieval-scale.ts: at Beauty's
// 12,101 items a batch of 24 user states takes ~1.6 ms on one ONNX Runtime thread against ~10 ms
// for the index statement, and the exact lists have recall 1 where the index's have ~0.98).
//
// PostgreSQL stays the store: the gateway keeps a mirror of one dataset's rows of its embedding
// slot (vector, price, stock, categories; the loaded model's own rows by reference to the
// model's matrix) and checks before every batch, with one small read, that the catalogue's
// generation (migrations/025: bumped at the commit of every transaction that writes items or
// item_categories) is the one it loaded; if not, it loads the rows again first. The lists it
// returns are the ones `nearestNeighbours` returns with `exact: true`: the same filters
// (`itemFilter`, the in-memory twin of the SQL conditions), the same exclusions, the same rows.
// Above `maxItems` rows the index serves (the mirror is not kept).
import type { Queryable } from '../db/client.js';
import { slotColumns, type EmbeddingSlot } from '../db/embedding-slots.js';
import { parseVectorLiteral, type CandidateFilter } from '../db/retrieval.js';
import { ExactTop, InnerProducts, type TopRows } from '../inference/exact-top.js';
import type { ColdRow } from '../forecast/cold-items.js';
import type { KnownItem } from '../inference/model.js';
import { ort } from '../inference/onnx.js';
import {
  fromModel,
  itemFilter,
  missing,
  type KnownCatalogue,
  type RetrievedItem,
} from './candidates.js';

/** One dataset's rows of one embedding slot, as of one catalogue generation. */
export interface Mirror {
  generation: string;
  dataset: string;
  slot: EmbeddingSlot;
  /** Rows beyond `maxItems`: not loaded, the index serves. */
  tooLarge: boolean;
  ids: string[];
  /** The row's item as the model knows it (its own vector), or null (a vector stored otherwise). */
  known: (KnownItem | null)[];
  categoryIds: (readonly string[])[];
  price: (number | null)[];
  inStock: boolean[];
  matrix: ort.Tensor | null;
  vectors: Float32Array;
  /** bias [1, N] of all zeros: no filter. */
  open: ort.Tensor | null;
  /** The rows of items the model does not know (content-tower vectors): forecast/cold-items.ts. */
  cold: ColdRow[];
  /** The mirror row of each of `cold`. */
  coldAt: number[];
}

interface MirrorRow {
  id: string;
  known: boolean;
  embedding: string | null;
  price: string | null;
  in_stock: boolean;
  category_ids: string[] | null;
}

export class ExactRetrieval {
  private mirror: Mirror | null = null;
  private loading: Promise<Mirror> | null = null;
  private top: Promise<ExactTop> | null = null;
  private products: Promise<InnerProducts> | null = null;
  /** Matrices as tensors, by their arrays (a cold pool's, forecast/cold-items.ts). */
  private readonly tensors = new WeakMap<Float32Array, ort.Tensor>();
  /** Loads of the mirror (a catalogue change each, after the first): /debug and tests read it. */
  loads = 0;

  constructor(
    /** The most rows the mirror holds; a larger catalogue is left to the index. */
    readonly maxItems: number,
    private readonly known: KnownCatalogue,
    private readonly dim: number,
  ) {}

  /**
   * The mirror of `dataset`'s catalogue in `slot`, current as of this call, or null when the
   * catalogue has more than `maxItems` vectors (the index serves it). `db`: the primary (the
   * generation and the rows are read there).
   */
  async current(db: Queryable, dataset: string, slot: EmbeddingSlot): Promise<Mirror | null> {
    const { rows } = await db.query<{ generation: string }>(
      'SELECT generation::text AS generation FROM catalogue_generation',
    );
    const generation = rows[0]?.generation ?? '0';
    let m = this.mirror;
    while (!m || m.generation !== generation || m.dataset !== dataset || m.slot !== slot) {
      // concurrent batches that find the mirror stale share one load
      this.loading ??= this.load(db, generation, dataset, slot).finally(() => {
        this.loading = null;
      });
      m = await this.loading;
      this.mirror = m;
      // a load begun for a later generation will do; one begun for an earlier one (another
      // batch's, started before this batch read the generation) may miss what this batch must
      // see: load again
      if (m.dataset === dataset && m.slot === slot && BigInt(m.generation) > BigInt(generation)) {
        break;
      }
    }
    return m.tooLarge ? null : m;
  }

  private async load(
    db: Queryable,
    generation: string,
    dataset: string,
    slot: EmbeddingSlot,
  ): Promise<Mirror> {
    this.loads++;
    const col = slotColumns(slot);
    const base: Mirror = {
      generation,
      dataset,
      slot,
      tooLarge: false,
      ids: [],
      known: [],
      categoryIds: [],
      price: [],
      inStock: [],
      matrix: null,
      vectors: new Float32Array(0),
      open: null,
      cold: [],
      coldAt: [],
    };
    const count = await db.query<{ n: string }>(
      `SELECT count(*)::text AS n FROM items i WHERE i.dataset = $1 AND i.${col.embedding} IS NOT NULL`,
      [dataset],
    );
    if (Number(count.rows[0]?.n ?? 0) > this.maxItems) return { ...base, tooLarge: true };
    const known = `(i.${col.source} = 'model' AND i.${col.version} = $2)`;
    // the categories in one aggregate, in db/items.ts itemCategoryIdsSql's order (a subquery per
    // row took 3.7× as long for Beauty)
    const { rows } = await db.query<MirrorRow>(
      `SELECT i.id, ${known} AS known,
              CASE WHEN ${known} THEN NULL ELSE i.${col.embedding}::text END AS embedding,
              i.price::text AS price, i.in_stock, c.ids AS category_ids
       FROM items i
       LEFT JOIN (SELECT ic.item_id, array_agg(ic.category_id ORDER BY ic.position, ic.category_id) AS ids
                  FROM item_categories ic GROUP BY ic.item_id) c ON c.item_id = i.id
       WHERE i.dataset = $1 AND i.${col.embedding} IS NOT NULL ORDER BY i.id`,
      [dataset, this.known.version],
    );
    if (rows.length > this.maxItems) return { ...base, tooLarge: true };
    const dim = this.dim;
    const vectors = new Float32Array(rows.length * dim);
    rows.forEach((r, k) => {
      const mem = r.known ? (this.known.knownItem(r.id) ?? missing(r.id)) : undefined;
      const v = mem ? mem.embedding : parseVectorLiteral(r.embedding as string);
      vectors.set(v, k * dim);
      base.ids.push(r.id);
      base.known.push(mem ?? null);
      base.categoryIds.push(r.category_ids ?? []);
      base.price.push(r.price === null ? null : Number(r.price));
      base.inStock.push(r.in_stock);
      if (!mem && this.known.knownItem(r.id) === undefined) {
        base.cold.push({
          id: r.id,
          embedding: vectors.subarray(k * dim, (k + 1) * dim),
          categoryIds: r.category_ids ?? [],
        });
        base.coldAt.push(k);
      }
    });
    const n = rows.length;
    return {
      ...base,
      vectors,
      matrix: n > 0 ? new ort.Tensor('float32', vectors, [n, dim]) : null,
      open: n > 0 ? new ort.Tensor('float32', new Float32Array(n), [1, n]) : null,
    };
  }

  /**
   * Each query's `limit` best items of the mirror by inner product that pass `filter` and are
   * not among its `exclude`, best first: what the index statement returns with `exact: true`.
   */
  async search(
    m: Mirror,
    queries: readonly { userState: Float32Array; exclude: readonly string[] }[],
    filter: CandidateFilter,
    limit: number,
  ): Promise<RetrievedItem[][]> {
    const n = m.ids.length;
    if (queries.length === 0 || n === 0 || !m.matrix || !m.open) return queries.map(() => []);
    const passes = itemFilter(filter);
    const filtered =
      filter.inStockOnly ||
      filter.minPrice !== null ||
      filter.maxPrice !== null ||
      (filter.categoryIds?.length ?? 0) > 0;
    let bias = m.open;
    if (filtered) {
      const b = new Float32Array(n);
      for (let r = 0; r < n; r++) {
        const item = {
          price: m.price[r] as number | null,
          inStock: m.inStock[r] as boolean,
          categoryIds: m.categoryIds[r] as readonly string[],
        };
        if (!passes(item)) b[r] = -Infinity;
      }
      bias = new ort.Tensor('float32', b, [1, n]);
    }
    const dim = this.dim;
    const flat = new Float32Array(queries.length * dim);
    queries.forEach((q, i) => flat.set(q.userState, i * dim));
    // room for every excluded item, so that `limit` others remain
    const k = Math.min(n, limit + Math.max(...queries.map((q) => q.exclude.length)));
    this.top ??= ExactTop.open(dim);
    const top = await (await this.top).top(flat, m.matrix, bias, k);
    return queries.map((q, i) => {
      const excluded = q.exclude.length > 0 ? new Set(q.exclude) : null;
      const list: RetrievedItem[] = [];
      for (let j = 0; j < k && list.length < limit; j++) {
        const similarity = top.values[i * k + j] as number;
        if (similarity === -Infinity) break;
        const r = Number(top.indices[i * k + j]);
        const id = m.ids[r] as string;
        if (excluded?.has(id)) continue;
        const mem = m.known[r];
        list.push(
          mem
            ? fromModel(mem, similarity)
            : {
                id,
                embedding: m.vectors.subarray(r * dim, (r + 1) * dim),
                categoryIds: m.categoryIds[r] as readonly string[],
                similarity,
              },
        );
      }
      return list;
    });
  }

  /** Which of the mirror's cold rows pass `filter` (1) or not (0). */
  coldPassing(m: Mirror, filter: CandidateFilter): Uint8Array {
    const passes = itemFilter(filter);
    return Uint8Array.from(m.coldAt, (r) =>
      passes({
        price: m.price[r] as number | null,
        inStock: m.inStock[r] as boolean,
        categoryIds: m.categoryIds[r] as readonly string[],
      })
        ? 1
        : 0,
    );
  }

  /**
   * Every inner product of `queries` [B · dim] with the rows of `items` [N · dim] (one ONNX
   * Runtime Gemm): [B · N], row-major. The cold-item scores' batch (forecast/cold-items.ts).
   */
  async innerProducts(queries: Float32Array, items: Float32Array): Promise<Float32Array> {
    this.products ??= InnerProducts.open(this.dim);
    return (await this.products).run(queries, this.tensor(items, items.length / this.dim));
  }

  /**
   * The k rows of `items` [N · dim] with the largest inner product plus `bias` [N] for each of
   * `queries` [B · dim] (Gemm + TopK): the cold items' neighbour search (forecast/cold-items.ts).
   */
  async topRows(
    queries: Float32Array,
    items: Float32Array,
    bias: Float32Array,
    k: number,
  ): Promise<TopRows> {
    this.top ??= ExactTop.open(this.dim);
    const n = bias.length;
    return (await this.top).top(queries, this.tensor(items, n), this.tensor(bias, 1), k);
  }

  /** `values` as a tensor of `rows` rows (cached by the array: a pool's or a model's matrix). */
  private tensor(values: Float32Array, rows: number): ort.Tensor {
    let t = this.tensors.get(values);
    if (!t) {
      t = new ort.Tensor('float32', values, [rows, values.length / rows]);
      this.tensors.set(values, t);
    }
    return t;
  }

  async release(): Promise<void> {
    const products = this.products;
    this.products = null;
    if (products) await (await products).release();
    const top = this.top;
    this.top = null;
    this.mirror = null;
    if (top) await (await top).release();
  }
}
