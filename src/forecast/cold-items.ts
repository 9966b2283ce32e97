// Scores for cold items: products the serving model never trained on, stored with content-tower
// vectors (an `upsertItem` of a new product, or a model's held-out items). Under the scorer alone
// such an item ranks by its inner product against items that also carry the Markov and
// co-occurrence terms, and never surfaces (bench/README.md, "Cold-start products"). A model whose
// manifest has `scorer.coldItems` scores them instead by a linear function of features the
// gateway computes here, fitted on held-out items
// (models/training/foresight_training/sequence/cold_items.py, whose `cold_features` this mirrors;
// parity: test/forecast/cold-items.test.ts):
//
//   innerProduct          <u, c>, c the item's stored (content-tower) vector
//   bias                  1
//   neighbourTerms5/20    the scoring terms' addends (scorer score − inner product) of the item's
//                         5 / 20 nearest model items by content-vector cosine, softmax(cos / T)-
//                         weighted: a new product inherits the transitions into those it resembles
//   recentSimilarity      cosine of c with the newest input item's content vector
//   recentSimilarityMax3  the largest such cosine over the 3 newest input items
//   sharedAttributes      attributes it shares with the newest input item
//   sharedAttributesMax3  the most it shares with one of the 3 newest input items
//
// plus `boost`. Every cold item of the catalogue is scored for every forecast (the exact
// retrieval's mirror lists them), so a new product reached only through its neighbours'
// transitions still ranks; without the mirror (a catalogue above RETRIEVAL_EXACT_MAX_ITEMS) cold
// items rank by scorer.onnx alone, as without scorer.coldItems.
import type { TopRows } from '../inference/exact-top.js';
import type { ColdItemsManifest, ModelManifest } from '../inference/manifest.js';

/** A catalogue item the model does not know: its id, stored vector and attributes. */
export interface ColdRow {
  id: string;
  embedding: Float32Array;
  categoryIds: readonly string[];
}

/** The cold rows of one catalogue load, with what their features need precomputed. */
export interface ColdPool {
  rows: readonly ColdRow[];
  /** Item id → its row. */
  index: Map<string, number>;
  /** Row r's neighbours: model indices [r * k20 + n], the first k5 are the 5 nearest. */
  neighbours: Int32Array;
  /** softmax(cos / T) weights of the k5 nearest and of the k20 nearest, per row. */
  weights5: Float64Array;
  weights20: Float64Array;
  /** Row r's vector, as stored, at [r * dim ..] (one array: the inner products' loop). */
  vectors: Float32Array;
  /** Row r's vector, unit length. */
  unit: Float32Array;
  /** Row r's attributes as model attribute indices. */
  attributes: Int32Array[];
  /** Model index → the rows that have it among their neighbours. */
  reverse: Map<number, number[]>;
  /**
   * Per input item (model index): every row's content cosine with it and how many attributes it
   * shares with it (filled as forecasts read them, at most RECENT_CACHE items).
   */
  byRecent: Map<number, Similarities>;
}

/** Every pool row's content cosine with one input item, and the attributes it shares with it. */
export interface Similarities {
  cos: Float32Array;
  shared: Uint8Array;
}

/** One forecast's inputs to its cold scores, computed for its batch (`ColdItemScorer.prepare`). */
export interface ColdInputs {
  /** The similarities of its newest input items (newest first, at most recentItems). */
  similarities: Similarities[];
  /** `<userState, row>` of every pool row. */
  dots: Float32Array;
}

/**
 * Every inner product of `queries` [B · dim] with the rows of `items` [N · dim]: [B · N],
 * row-major (one ONNX Runtime Gemm: ExactRetrieval.innerProducts).
 */
export type InnerProductsOf = (queries: Float32Array, items: Float32Array) => Promise<Float32Array>;

/**
 * The k rows of `items` [N · dim] with the largest inner product plus `bias` [N] for each of
 * `queries` [B · dim], best first (one Gemm + TopK: ExactRetrieval.topRows).
 */
export type TopRowsOf = (
  queries: Float32Array,
  items: Float32Array,
  bias: Float32Array,
  k: number,
) => Promise<TopRows>;

/** Rows per neighbour-search call: the Gemm's scores are SEARCH_CHUNK × catalogue floats. */
const SEARCH_CHUNK = 256;

/** The most input items whose similarities to the cold rows a pool keeps (~6 KB each at 1,210 rows). */
const RECENT_CACHE = 4096;

/** What the cold scorer reads of the model. */
export interface ColdModel {
  readonly manifest: { dim: number; numItems: number; numAttributes: number };
  attributeIndexOf(attributeId: string): number | undefined;
  itemAt(index: number): { attributeIds: readonly string[] } | undefined;
}

interface Cached {
  vector: Float32Array;
  neighbours: Int32Array;
  cosines: Float64Array;
}

export class ColdItemScorer {
  private readonly k5: number;
  private readonly k20: number;
  /** Unit content vectors of the model's items (zero rows: never neighbours). */
  private readonly unitContent: Float32Array;
  private readonly weights: Record<string, number>;
  /** 0 for the model items with a content vector, −∞ for the rest (never neighbours). */
  private readonly contentBias: Float32Array;
  private readonly pools = new WeakMap<readonly ColdRow[], Promise<ColdPool>>();
  /** Scratch: 1 at the attribute indices of one input item (0 elsewhere). */
  private readonly mark: Uint8Array;
  /** Scratch: the addends of one forecast by model index (0 elsewhere). */
  private readonly dense: Float64Array;
  /** Neighbours by item id, kept while the item's vector stays the same. */
  private readonly cache = new Map<string, Cached>();

  constructor(
    readonly spec: ColdItemsManifest,
    contentVectors: Float32Array,
    private readonly model: ColdModel,
  ) {
    const { dim, numItems } = model.manifest;
    if (contentVectors.length !== (numItems + 1) * dim) {
      throw new Error(
        `content vectors: ${contentVectors.length} floats, expected (numItems + 1) * dim = ${(numItems + 1) * dim}`,
      );
    }
    [this.k5, this.k20] = spec.neighbours;
    if (this.k5 > this.k20) throw new Error('coldItems.neighbours: the first count is the smaller');
    this.dense = new Float64Array(numItems + 1);
    this.mark = new Uint8Array(model.manifest.numAttributes + 1);
    this.unitContent = new Float32Array(contentVectors.length);
    this.contentBias = new Float32Array(numItems + 1).fill(-Infinity);
    for (let j = 1; j <= numItems; j++) {
      const v = contentVectors.subarray(j * dim, (j + 1) * dim);
      const norm = Math.hypot(...v);
      if (norm === 0) continue;
      this.contentBias[j] = 0;
      for (let d = 0; d < dim; d++) this.unitContent[j * dim + d] = (v[d] as number) / norm;
    }
    this.weights = Object.fromEntries(spec.features.map((f, k) => [f, spec.weights[k] as number]));
  }

  /**
   * The pool of `rows`, built once per rows array (one catalogue load); `top` finds the
   * neighbours of rows not seen before (ExactRetrieval.topRows).
   */
  pool(rows: readonly ColdRow[], top: TopRowsOf): Promise<ColdPool> {
    let pool = this.pools.get(rows);
    if (!pool) {
      pool = this.build(rows, top);
      this.pools.set(rows, pool);
      pool.catch(() => this.pools.delete(rows));
    }
    return pool;
  }

  private async build(rows: readonly ColdRow[], top: TopRowsOf): Promise<ColdPool> {
    const { dim } = this.model.manifest;
    const k20 = this.k20;
    await this.searchNeighbours(rows, top);
    const neighbours = new Int32Array(rows.length * k20);
    const weights5 = new Float64Array(rows.length * this.k5);
    const weights20 = new Float64Array(rows.length * k20);
    const unit = new Float32Array(rows.length * dim);
    const vectors = new Float32Array(rows.length * dim);
    const attributes: Int32Array[] = [];
    const reverse = new Map<number, number[]>();
    const seen = new Set<string>();
    rows.forEach((row, r) => {
      seen.add(row.id);
      unit.set(unitVector(row.embedding), r * dim);
      vectors.set(row.embedding, r * dim);
      const nb = this.cache.get(row.id) as Cached;
      neighbours.set(nb.neighbours, r * k20);
      softmaxInto(nb.cosines.subarray(0, this.k5), this.spec.temperature, weights5, r * this.k5);
      softmaxInto(nb.cosines, this.spec.temperature, weights20, r * k20);
      for (const j of nb.neighbours) {
        if (j === 0) continue; // fewer model items with content than neighbours
        const list = reverse.get(j);
        if (list) {
          if (list[list.length - 1] !== r) list.push(r);
        } else reverse.set(j, [r]);
      }
      attributes.push(
        Int32Array.from(
          new Set(
            row.categoryIds.flatMap((id) => {
              const k = this.model.attributeIndexOf(id);
              return k === undefined ? [] : [k];
            }),
          ),
        ),
      );
    });
    for (const id of this.cache.keys()) if (!seen.has(id)) this.cache.delete(id);
    const index = new Map(rows.map((row, r) => [row.id, r]));
    return {
      rows,
      index,
      neighbours,
      weights5,
      weights20,
      vectors,
      unit,
      attributes,
      reverse,
      byRecent: new Map(),
    };
  }

  /**
   * The k20 model items nearest by content cosine to each row whose neighbours are not cached
   * (per id, while its vector stays the same), cached: one Gemm + TopK per SEARCH_CHUNK rows.
   */
  private async searchNeighbours(rows: readonly ColdRow[], top: TopRowsOf): Promise<void> {
    const { dim } = this.model.manifest;
    const k = this.k20;
    const fresh = rows.filter((row) => {
      const hit = this.cache.get(row.id);
      return !hit || !sameVector(hit.vector, row.embedding);
    });
    for (let at = 0; at < fresh.length; at += SEARCH_CHUNK) {
      const part = fresh.slice(at, at + SEARCH_CHUNK);
      const queries = new Float32Array(part.length * dim);
      part.forEach((row, q) => queries.set(unitVector(row.embedding), q * dim));
      const found = await top(queries, this.unitContent, this.contentBias, k);
      part.forEach((row, q) => {
        const neighbours = new Int32Array(k);
        const cosines = new Float64Array(k).fill(-Infinity);
        for (let n = 0; n < k; n++) {
          const c = found.values[q * found.k + n] as number;
          if (c === -Infinity) break; // no more model items with content
          neighbours[n] = Number(found.indices[q * found.k + n]);
          cosines[n] = c;
        }
        this.cache.set(row.id, { vector: Float32Array.from(row.embedding), neighbours, cosines });
      });
    }
  }

  /**
   * The model items whose term addends the features of `pool` need for a forecast whose terms
   * touch `touched` (every other item's addend is 0).
   */
  needed(pool: ColdPool, touched: Iterable<number>): number[] {
    const out: number[] = [];
    for (const j of touched) if (pool.reverse.has(j)) out.push(j);
    return out;
  }

  /**
   * The batch's matrix work for the forecasts of one pool, on ONNX Runtime (`products`): every
   * forecast's inner products with every row, and the content cosines of the input items whose
   * similarities the pool has not cached (cached for later batches). `states`: the forecasts'
   * user states [B · dim]; `recents`: their input items (model indices, newest first).
   */
  async prepare(
    pool: ColdPool,
    states: Float32Array,
    recents: readonly (readonly number[])[],
    products: InnerProductsOf,
  ): Promise<ColdInputs[]> {
    const n = pool.rows.length;
    const newest = recents.map((recent) => recent.slice(0, this.spec.recentItems));
    // the entries this batch reads, held here: a concurrent batch may clear the cache while this
    // one waits for ONNX Runtime
    const entries = new Map<number, Similarities>();
    const missing: number[] = [];
    for (const h of newest.flat()) {
      if (entries.has(h) || missing.includes(h)) continue;
      const hit = pool.byRecent.get(h);
      if (hit) entries.set(h, hit);
      else missing.push(h);
    }
    if (pool.byRecent.size + missing.length > RECENT_CACHE) pool.byRecent.clear();
    const dots = await products(states, pool.vectors);
    if (missing.length > 0) {
      // an input item without a content vector has a zero unit row: cosine 0 with every row
      const cos = await products(this.unitRows(missing), pool.unit);
      missing.forEach((h, k) => {
        const entry = {
          cos: cos.slice(k * n, (k + 1) * n),
          shared: this.sharedAttributes(pool, h),
        };
        entries.set(h, entry);
        pool.byRecent.set(h, entry);
      });
    }
    return newest.map((recent, b) => ({
      similarities: recent.map((h) => entries.get(h) as Similarities),
      dots: dots.subarray(b * n, (b + 1) * n),
    }));
  }

  /**
   * Every pool row's score for one forecast: what `prepare` computed for it, and the term addend
   * of each `needed` item (absent: 0).
   */
  scores(pool: ColdPool, inputs: ColdInputs, addends: ReadonlyMap<number, number>): Float64Array {
    const w = this.weights;
    const n = pool.rows.length;
    const out = new Float64Array(n).fill(this.spec.boost + (w.bias ?? 0));
    const wDot = w.innerProduct ?? 0;
    if (wDot !== 0) {
      for (let r = 0; r < n; r++) out[r] = (out[r] as number) + wDot * (inputs.dots[r] as number);
    }
    this.addNeighbourTerms(pool, addends, out);
    this.addRecent(pool, inputs.similarities, out);
    return out;
  }

  private addNeighbourTerms(
    pool: ColdPool,
    addends: ReadonlyMap<number, number>,
    out: Float64Array,
  ): void {
    const w5 = this.weights.neighbourTerms5 ?? 0;
    const w20 = this.weights.neighbourTerms20 ?? 0;
    if ((w5 === 0 && w20 === 0) || addends.size === 0) return;
    const dense = this.dense;
    const reached: number[] = [];
    const mark = new Uint8Array(pool.rows.length);
    for (const [j, a] of addends) {
      dense[j] = a;
      for (const r of pool.reverse.get(j) ?? []) {
        if (mark[r]) continue;
        mark[r] = 1;
        reached.push(r);
      }
    }
    const { k5, k20 } = this;
    for (const r of reached) {
      let t5 = 0;
      let t20 = 0;
      for (let n = 0; n < k20; n++) {
        const a = dense[pool.neighbours[r * k20 + n] as number] as number;
        if (a === 0) continue;
        t20 += (pool.weights20[r * k20 + n] as number) * a;
        if (n < k5) t5 += (pool.weights5[r * k5 + n] as number) * a;
      }
      out[r] = (out[r] as number) + w5 * t5 + w20 * t20;
    }
    for (const j of addends.keys()) dense[j] = 0;
  }

  private attributeIndices(index: number): number[] {
    return (this.model.itemAt(index)?.attributeIds ?? []).flatMap((id) => {
      const k = this.model.attributeIndexOf(id);
      return k === undefined ? [] : [k];
    });
  }

  /** The unit content vectors of model items `hs`, [hs.length · dim]. */
  private unitRows(hs: readonly number[]): Float32Array {
    const { dim } = this.model.manifest;
    const out = new Float32Array(hs.length * dim);
    hs.forEach((h, k) => out.set(this.unitContent.subarray(h * dim, (h + 1) * dim), k * dim));
    return out;
  }

  private sharedAttributes(pool: ColdPool, h: number): Uint8Array {
    const n = pool.rows.length;
    const shared = new Uint8Array(n);
    const mine = this.attributeIndices(h);
    if (mine.length === 0) return shared;
    const mark = this.mark;
    for (const a of mine) mark[a] = 1;
    for (let r = 0; r < n; r++) {
      let k = 0;
      for (const a of pool.attributes[r] as Int32Array) k += mark[a] as number;
      shared[r] = Math.min(k, 255);
    }
    for (const a of mine) mark[a] = 0;
    return shared;
  }

  private addRecent(pool: ColdPool, sims: readonly Similarities[], out: Float64Array): void {
    const ws = this.weights.recentSimilarity ?? 0;
    const ws3 = this.weights.recentSimilarityMax3 ?? 0;
    const wa = this.weights.sharedAttributes ?? 0;
    const wa3 = this.weights.sharedAttributesMax3 ?? 0;
    const n = pool.rows.length;
    const first = sims[0];
    if (!first) return; // every feature 0
    // a missing input item (fewer than recentItems) counts as cosine 0 and nothing shared, as
    // training's zero padding: the maxima start at 0 then
    const floor = sims.length < this.spec.recentItems ? 0 : -Infinity;
    const cos = sims.map((s) => s.cos);
    const shared = sims.map((s) => s.shared);
    const m = sims.length;
    for (let r = 0; r < n; r++) {
      let best = floor;
      let sharedBest = 0;
      for (let k = 0; k < m; k++) {
        const c = (cos[k] as Float32Array)[r] as number;
        if (c > best) best = c;
        const a = (shared[k] as Uint8Array)[r] as number;
        if (a > sharedBest) sharedBest = a;
      }
      out[r] =
        (out[r] as number) +
        ws * (first.cos[r] as number) +
        ws3 * best +
        wa * (first.shared[r] as number) +
        wa3 * sharedBest;
    }
  }
}

function unitVector(v: Float32Array): Float32Array {
  const norm = Math.hypot(...v);
  return norm === 0 ? new Float32Array(v.length) : v.map((x) => x / norm);
}

function sameVector(a: Float32Array, b: Float32Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** softmax(xs / t) written into out[at ..]. */
function softmaxInto(xs: Float64Array, t: number, out: Float64Array, at: number): void {
  let max = -Infinity;
  for (const x of xs) if (x > max) max = x;
  let sum = 0;
  for (let i = 0; i < xs.length; i++) {
    const e = Number.isFinite(xs[i] as number) ? Math.exp(((xs[i] as number) - max) / t) : 0;
    out[at + i] = e;
    sum += e;
  }
  for (let i = 0; i < xs.length; i++) out[at + i] = sum > 0 ? (out[at + i] as number) / sum : 0;
}

const bound = new WeakMap<object, ColdItemScorer | null>();

/**
 * The cold-item scorer of `model` (scorer.coldItems), bound once per model; null when its
 * manifest has none. Throws when the model's files do not fit it.
 */
export function bindColdItems(
  model: ColdModel & {
    readonly manifest: ModelManifest;
    readonly contentVectors?: Float32Array | null;
  },
): ColdItemScorer | null {
  if (bound.has(model)) return bound.get(model) ?? null;
  const spec = model.manifest.scorer?.coldItems;
  let scorer: ColdItemScorer | null = null;
  if (spec) {
    if (!model.contentVectors) {
      throw new Error('model.json scorer.coldItems needs files.contentVectors');
    }
    scorer = new ColdItemScorer(spec, model.contentVectors, model);
  }
  bound.set(model, scorer);
  return scorer;
}
