// The shipped model (models/README.md is the contract): loads model.json, the vocabularies,
// the item-embedding matrix, the item tables and the three ONNX graphs, and turns plain inputs
// into tensors. What the scorer's terms read is theirs to know (src/forecast/terms/): the model
// hands them its tables and runs the feeds they build. Tensors are filled in place from typed
// arrays; no per-element boxing on the hot path.
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { openSession, ort, type ExecutionProvider } from './onnx.js';
import { OnnxThread, type ModelSession } from './onnx-thread.js';
import { CsrTable } from './csr.js';
import { lengthGroups } from './length-groups.js';
import { readManifest, type ModelManifest, type TableFile } from './manifest.js';
import { TENSOR } from './contract.js';
import { CategoryForecaster } from './category/forecaster.js';

const vocabSchema = z.object({
  items: z.array(z.string()),
  attributes: z.array(z.string()),
  /** Attribute indices of each item (aligned with `items`): the table the model was trained with. */
  itemAttributes: z.array(z.array(z.number().int().positive())),
});

export interface SequenceEvent {
  /** External item id; null for events without an item (e.g. SEARCH). */
  itemId: string | null;
  type: string;
  occurredAt: Date | null;
}

export interface EncoderOutput {
  userState: Float32Array;
  /** Next-attribute distribution indexed by attribute index (0 = padding). */
  categoryProbs: Float32Array;
  /** Attention weight per input event (same order as the input); 0 for events not seen. */
  eventWeights: Float32Array;
  purchaseProbability: number | null;
}

export interface Candidate {
  itemId: string;
  embedding: Float32Array;
  /** External category/attribute ids of the candidate item. */
  attributeIds: readonly string[];
  /** The item's model index when the caller has it (`KnownItem.index`), else looked up by id. */
  index?: number;
}

/** An item the model was trained on, as the model holds it in memory. */
export interface KnownItem {
  readonly id: string;
  /** 1-based index into the model's vocabulary (0 is padding). */
  readonly index: number;
  /** The learned embedding (a view into the item matrix). */
  readonly embedding: Float32Array;
  /** External attribute ids, the table the model was trained with. */
  readonly attributeIds: readonly string[];
}

interface KnownEntry extends KnownItem {
  /** `attributeIds` as the scorer's int64 attribute indices. */
  readonly attributeValues: BigInt64Array;
}

export interface ScorerInput {
  userState: Float32Array;
  categoryProbs: Float32Array;
  candidates: readonly Candidate[];
}

/**
 * The scorer inputs beyond the inner product's and the category term's, built by the scoring
 * terms (src/forecast/terms/) from every row's candidates as model indices (`[B, width]`
 * row-major, 0 for items unknown to the model and for padding).
 */
export type TermFeeds = (candidates: Int32Array, width: number) => Record<string, ort.Tensor>;

export interface ContentInput {
  attributeIds: readonly string[];
  text: string | null;
  price: number | null;
}

/**
 * What the forecast engine, retrieval and the scoring terms need of a model: its manifest,
 * vocabulary, item tables and the three graphs. `Model` is the shipped implementation; tests
 * may serve a small fake.
 */
export interface SequenceModel {
  readonly manifest: ModelManifest;
  readonly version: string;
  /** The execution provider its sessions run on ('none' for a fake without ONNX). */
  readonly provider: string;
  /** Why it runs on that provider when another was asked for (e.g. CUDA missing). */
  readonly providerNote?: string | undefined;
  /** ONNX session runs of the encoder so far. */
  readonly encoderRuns: number;
  /** Whether the model was trained on this item (the encoder reads only such events). */
  knows(itemId: string | null | undefined): itemId is string;
  /** The model index (1-based) of an item it was trained on, else undefined. */
  indexOf(itemId: string | null): number | undefined;
  /** An item known to the model (learned embedding, attributes, index), or undefined. */
  knownItem(itemId: string): KnownItem | undefined;
  /** The known item at a model index (1 .. numItems), or undefined. */
  itemAt(index: number): KnownItem | undefined;
  /** The index of an attribute (category) in `categoryProbs`, or undefined. */
  attributeIndexOf(attributeId: string): number | undefined;
  /** Id of the attribute at an index of `categoryProbs`. */
  attributeAt(index: number): string | undefined;
  /** An item table of the manifest's `files` (transitions, cooccurrence), if it names one. */
  table(name: TableFile): CsrTable | undefined;
  encode(inputs: readonly (readonly SequenceEvent[])[]): Promise<EncoderOutput[]>;
  /** Exact scores of each row's candidates (same order); rows may have different lengths. */
  score(inputs: readonly ScorerInput[], termFeeds?: TermFeeds): Promise<Float32Array[]>;
  embedContent(inputs: readonly ContentInput[]): Promise<Float32Array[]>;
  /** The shipped next-category forecaster (`files.category`); absent: the encoder's head. */
  readonly categoryForecaster?: CategoryForecaster | null;
  /**
   * Every model item's content-tower vector (`files.contentVectors`, `[numItems + 1, dim]`
   * row-major): what scorer.coldItems reads (src/forecast/cold-items.ts); absent without it.
   */
  readonly contentVectors?: Float32Array | null;
  release(): Promise<void>;
}

/** Copies into an aligned buffer: Buffer slices from the pool may not be 4-byte aligned. */
function alignedFloats(raw: Buffer): Float32Array {
  const out = new Float32Array(raw.byteLength / 4);
  new Uint8Array(out.buffer).set(raw);
  return out;
}

/** A float32 file of exactly `bytes` bytes. */
async function readFloats(file: string, bytes: number): Promise<Float32Array> {
  const raw = await readFile(file);
  if (raw.byteLength !== bytes) {
    throw new Error(`${path.basename(file)} has ${raw.byteLength} bytes, expected ${bytes}`);
  }
  return alignedFloats(raw);
}

export class Model implements SequenceModel {
  private readonly itemIndex: Map<string, number>;
  private readonly attributeIndex: Map<string, number>;
  /** `attributeIndex` as int64 tensor values. */
  private readonly attributeBigIndex: Map<string, bigint>;
  /** Per model item (index - 1): its id, learned embedding (a view) and attributes. */
  private readonly known: KnownEntry[];
  /** ONNX session runs of the encoder so far (≥ encode calls: one per length group). */
  encoderRuns = 0;
  private readonly tables = new Map<TableFile, CsrTable>();
  categoryForecaster: CategoryForecaster | null = null;
  contentVectors: Float32Array | null = null;

  private constructor(
    readonly manifest: ModelManifest,
    readonly vocab: z.infer<typeof vocabSchema>,
    /** Row-major `[numItems + 1, dim]`, row 0 = padding. */
    itemEmbeddings: Float32Array,
    private readonly encoder: ModelSession,
    private readonly scorer: ModelSession,
    private readonly content: ModelSession,
    readonly provider: ExecutionProvider,
    readonly providerNote: string | undefined,
    /** The model directory, where `table` reads the item tables. */
    private readonly dir: string,
    /**
     * Items the vocabulary lists but training never saw (heldout.json of a model trained with
     * --holdout-items): unknown to the model, so they are served as new products are.
     */
    heldOut: ReadonlySet<string> = new Set(),
  ) {
    this.itemIndex = new Map(
      vocab.items.flatMap((id, k): [string, number][] => (heldOut.has(id) ? [] : [[id, k + 1]])),
    );
    this.attributeIndex = new Map(vocab.attributes.map((id, k) => [id, k + 1]));
    this.attributeBigIndex = new Map(vocab.attributes.map((id, k) => [id, BigInt(k + 1)]));
    // Built once: every forecast looks up tens of candidates (hot path, no allocation).
    const d = manifest.dim;
    this.known = vocab.items.map((id, k) => {
      const attrs = vocab.itemAttributes[k] ?? [];
      return {
        id,
        index: k + 1,
        embedding: itemEmbeddings.subarray((k + 1) * d, (k + 2) * d),
        attributeIds: Object.freeze(attrs.map((a) => vocab.attributes[a - 1] as string)),
        attributeValues: BigInt64Array.from(attrs, (a) => BigInt(a)),
      };
    });
  }

  /**
   * Loads a model directory. `threads`: ONNX Runtime intra-op threads per session (0 = its
   * default); `worker`: run the sessions on a worker thread instead of the calling thread.
   */
  static async load(
    dir: string,
    provider: 'auto' | 'cuda' | 'cpu',
    threads = 0,
    { worker = false }: { worker?: boolean } = {},
  ): Promise<Model> {
    const read = (f: string) => readFile(path.join(dir, f));
    const manifest = await readManifest(dir);
    const f = manifest.files;
    const vocab = vocabSchema.parse(JSON.parse((await read(f.vocab)).toString('utf8')));
    if (
      vocab.items.length !== manifest.numItems ||
      vocab.itemAttributes.length !== manifest.numItems
    ) {
      throw new Error(
        `vocab has ${vocab.items.length} items and ${vocab.itemAttributes.length} attribute rows, ` +
          `model.json says ${manifest.numItems}`,
      );
    }
    const raw = await read(f.itemEmbeddings);
    const expected = (manifest.numItems + 1) * manifest.dim * 4;
    if (raw.byteLength !== expected) {
      throw new Error(`${f.itemEmbeddings} has ${raw.byteLength} bytes, expected ${expected}`);
    }
    const itemEmbeddings = alignedFloats(raw);
    const heldOut = await readHeldOutItems(path.join(dir, 'heldout.json'));
    const contentVectors = f.contentVectors
      ? await readFloats(path.join(dir, f.contentVectors), expected)
      : null;
    const thread = worker ? new OnnxThread() : null;
    const open = (file: string, preference: 'auto' | 'cuda' | 'cpu') =>
      thread
        ? thread.openSession(path.join(dir, file), preference, threads)
        : openSession(path.join(dir, file), preference, threads);
    const opened: ModelSession[] = [];
    try {
      const enc = await open(f.encoder, provider);
      opened.push(enc.session);
      const same = enc.provider === 'cuda' ? 'cuda' : 'cpu';
      const sc = await open(f.scorer, same);
      opened.push(sc.session);
      const co = await open(f.content, same);
      opened.push(co.session);
      const category = f.category ? await CategoryForecaster.load(dir, f.category, threads) : null;
      const model = new Model(
        manifest,
        vocab,
        itemEmbeddings,
        enc.session,
        sc.session,
        co.session,
        enc.provider,
        enc.fallbackReason,
        dir,
        heldOut,
      );
      model.categoryForecaster = category;
      model.contentVectors = contentVectors;
      return model;
    } catch (err) {
      await Promise.all(opened.map((x) => x.release()));
      throw err;
    }
  }

  get version(): string {
    return this.manifest.version;
  }

  knows(itemId: string | null | undefined): itemId is string {
    return itemId != null && this.itemIndex.has(itemId);
  }

  indexOf(itemId: string | null): number | undefined {
    return itemId === null ? undefined : this.itemIndex.get(itemId);
  }

  knownItem(itemId: string): KnownItem | undefined {
    const k = this.itemIndex.get(itemId);
    return k === undefined ? undefined : this.known[k - 1];
  }

  itemAt(index: number): KnownItem | undefined {
    return this.known[index - 1];
  }

  attributeIndexOf(attributeId: string): number | undefined {
    return this.attributeIndex.get(attributeId);
  }

  attributeAt(index: number): string | undefined {
    return index >= 1 ? this.vocab.attributes[index - 1] : undefined;
  }

  /**
   * Read on first use (a scoring term binding to the model, at start-up): a table whose term is
   * off is never read. Throws naming the file when it does not fit the model's items.
   */
  table(name: TableFile): CsrTable | undefined {
    const file = this.manifest.files[name];
    if (!file) return undefined;
    let table = this.tables.get(name);
    if (!table) {
      const raw = readFileSync(path.join(this.dir, file));
      table = CsrTable.parse(raw, this.manifest.numItems, file, `${name} table`);
      this.tables.set(name, table);
    }
    return table;
  }

  /**
   * Encodes a batch of histories. With a dynamic sequence axis, rows are grouped by history
   * length (`lengthGroups`) and each group runs as wide as its longest history: one long
   * history no longer pads every short one to its length. Without one, a single run at maxLen.
   */
  async encode(inputs: readonly (readonly SequenceEvent[])[]): Promise<EncoderOutput[]> {
    const { maxLen } = this.manifest;
    const knownRows = inputs.map((events) => {
      const known: number[] = [];
      events.forEach((e, i) => {
        if (this.knows(e.itemId)) known.push(i);
      });
      return known.slice(-maxLen);
    });
    if (!this.manifest.dynamicLength) return this.encodeRun(inputs, knownRows, maxLen);
    const groups = lengthGroups(knownRows.map((k) => k.length));
    this.encoderRuns += groups.length;
    const out = new Array<EncoderOutput>(inputs.length);
    for (const rows of groups) {
      const L = Math.max(1, ...rows.map((b) => (knownRows[b] as number[]).length));
      const encoded = await this.encodeRun(
        rows.map((b) => inputs[b] as readonly SequenceEvent[]),
        rows.map((b) => knownRows[b] as number[]),
        L,
      );
      rows.forEach((b, k) => (out[b] = encoded[k] as EncoderOutput));
    }
    return out;
  }

  /** One encoder run over `inputs`, each row's kept events `knownRows`, `L` positions wide. */
  private async encodeRun(
    inputs: readonly (readonly SequenceEvent[])[],
    knownRows: readonly number[][],
    L: number,
  ): Promise<EncoderOutput[]> {
    const { dim, numAttributes } = this.manifest;
    const B = inputs.length;
    const items = new BigInt64Array(B * L);
    const types = new BigInt64Array(B * L);
    const gaps = new BigInt64Array(B * L);
    // For each row, which input event sits at each position (-1 = padding).
    const source = new Int32Array(B * L).fill(-1);
    inputs.forEach((events, b) => {
      const kept = knownRows[b] as number[];
      const offset = b * L + (L - kept.length); // left padding: newest at L - 1
      kept.forEach((i, p) => {
        const e = events[i] as SequenceEvent;
        const prev = p > 0 ? events[kept[p - 1] as number] : undefined;
        items[offset + p] = BigInt(this.itemIndex.get(e.itemId as string) as number);
        types[offset + p] = BigInt(this.eventTypeIndex(e.type));
        gaps[offset + p] = BigInt(this.timeGapBucket(prev?.occurredAt ?? null, e.occurredAt));
        source[offset + p] = i;
      });
    });
    const out = await this.encoder.run({
      [TENSOR.itemIds]: new ort.Tensor('int64', items, [B, L]),
      [TENSOR.eventTypes]: new ort.Tensor('int64', types, [B, L]),
      [TENSOR.timeGaps]: new ort.Tensor('int64', gaps, [B, L]),
    });
    const userState = tensorData(out, TENSOR.userState);
    const categoryProbs = tensorData(out, TENSOR.categoryProbs);
    const attention = tensorData(out, TENSOR.attention);
    const purchase = this.manifest.heads.purchase
      ? tensorData(out, TENSOR.purchaseProb)
      : undefined;
    const C = numAttributes + 1;
    return inputs.map((events, b) => {
      const eventWeights = new Float32Array(events.length);
      for (let p = 0; p < L; p++) {
        const i = source[b * L + p] as number;
        if (i >= 0) eventWeights[i] = attention[b * L + p] as number;
      }
      return {
        userState: userState.slice(b * dim, (b + 1) * dim),
        categoryProbs: categoryProbs.slice(b * C, (b + 1) * C),
        eventWeights,
        purchaseProbability: purchase ? (purchase[b] as number) : null,
      };
    });
  }

  async score(inputs: readonly ScorerInput[], termFeeds?: TermFeeds): Promise<Float32Array[]> {
    const { dim, numAttributes } = this.manifest;
    const B = inputs.length;
    const N = Math.max(1, ...inputs.map((r) => r.candidates.length));
    let A = 1;
    for (const r of inputs) for (const c of r.candidates) A = Math.max(A, c.attributeIds.length);
    const C = numAttributes + 1;
    const states = new Float32Array(B * dim);
    const probs = new Float32Array(B * C);
    const embeddings = new Float32Array(B * N * dim);
    const attrs = new BigInt64Array(B * N * A);
    // Model index of each candidate, 0 = unknown to the model (content tower): what the terms'
    // inputs read.
    const cands = new Int32Array(termFeeds ? B * N : 0);
    inputs.forEach((row, b) => {
      states.set(row.userState, b * dim);
      probs.set(row.categoryProbs, b * C);
      row.candidates.forEach((c, n) => {
        const index = c.index ?? this.itemIndex.get(c.itemId) ?? 0;
        if (termFeeds) cands[b * N + n] = index;
        embeddings.set(c.embedding, (b * N + n) * dim);
        // The model's own attribute table (the same frozen array): its int64 values are ready
        // (no longer than A, the longest attribute list of the batch).
        const entry = index > 0 ? this.known[index - 1] : undefined;
        if (entry !== undefined && entry.attributeIds === c.attributeIds) {
          attrs.set(entry.attributeValues, (b * N + n) * A);
          return;
        }
        let a = 0;
        for (const id of c.attributeIds) {
          const k = this.attributeBigIndex.get(id);
          if (k !== undefined && a < A) attrs[(b * N + n) * A + a++] = k;
        }
      });
    });
    const out = await this.scorer.run({
      [TENSOR.userState]: new ort.Tensor('float32', states, [B, dim]),
      [TENSOR.categoryProbs]: new ort.Tensor('float32', probs, [B, C]),
      [TENSOR.candidateEmbeddings]: new ort.Tensor('float32', embeddings, [B, N, dim]),
      [TENSOR.candidateAttrs]: new ort.Tensor('int64', attrs, [B, N, A]),
      ...termFeeds?.(cands, N),
    });
    const scores = tensorData(out, TENSOR.scores);
    return inputs.map((row, b) => scores.slice(b * N, b * N + row.candidates.length));
  }

  /** Content-tower embeddings (cold start): attributes, hashed text and price band. */
  async embedContent(inputs: readonly ContentInput[]): Promise<Float32Array[]> {
    const { dim, textHashBuckets } = this.manifest;
    const B = inputs.length;
    const attrRows = inputs.map((r) =>
      r.attributeIds.map((id) => this.attributeIndex.get(id)).filter((k) => k !== undefined),
    );
    const tokenRows = inputs.map((r) => (r.text ? hashTokens(r.text, textHashBuckets) : []));
    const A = Math.max(1, ...attrRows.map((r) => r.length));
    const T = Math.max(1, ...tokenRows.map((r) => r.length));
    const attrs = new BigInt64Array(B * A);
    const tokens = new BigInt64Array(B * T);
    const bands = new BigInt64Array(B);
    inputs.forEach((r, b) => {
      attrRows[b]?.forEach((k, a) => (attrs[b * A + a] = BigInt(k)));
      tokenRows[b]?.forEach((t, j) => (tokens[b * T + j] = BigInt(t)));
      bands[b] = BigInt(this.priceBand(r.price));
    });
    const out = await this.content.run({
      [TENSOR.attrIds]: new ort.Tensor('int64', attrs, [B, A]),
      [TENSOR.textTokens]: new ort.Tensor('int64', tokens, [B, T]),
      [TENSOR.priceBand]: new ort.Tensor('int64', bands, [B]),
    });
    const emb = tensorData(out, TENSOR.embedding);
    return inputs.map((_, b) => emb.slice(b * dim, (b + 1) * dim));
  }

  private eventTypeIndex(type: string): number {
    const observed = this.manifest.observed;
    if (observed && !observed.eventTypes.includes(type)) return 1; // never trained: unknown
    const k = this.manifest.eventTypes.indexOf(type);
    return k >= 2 ? k : 1; // 1 = unknown
  }

  private timeGapBucket(prev: Date | null, at: Date | null): number {
    if (!prev || !at || this.manifest.observed?.timeGaps === false) return 1;
    const seconds = Math.max(0, (at.getTime() - prev.getTime()) / 1000);
    const bounds = this.manifest.timeGapBucketsSeconds;
    const j = bounds.findIndex((b) => seconds <= b);
    return 2 + (j === -1 ? bounds.length : j);
  }

  private priceBand(price: number | null): number {
    if (price === null) return 0;
    const bounds = this.manifest.priceBandsUpper;
    const j = bounds.findIndex((b) => price <= b);
    return 1 + (j === -1 ? bounds.length : j);
  }

  async release(): Promise<void> {
    await Promise.all([
      this.encoder.release(),
      this.scorer.release(),
      this.content.release(),
      this.categoryForecaster?.release(),
    ]);
  }
}

function tensorData(out: ort.InferenceSession.OnnxValueMapType, name: string): Float32Array {
  const t = out[name];
  if (!t || !(t.data instanceof Float32Array)) {
    throw new Error(`model output ${name} missing or not float32`);
  }
  return t.data;
}

/** Lower-cased `[a-z0-9]+` tokens → `1 + FNV-1a-32(token) mod buckets` (models/README.md). */
export function hashTokens(text: string, buckets: number): number[] {
  const tokens = text.toLowerCase().match(/[a-z0-9]+/g) ?? [];
  const enc = new TextEncoder();
  return tokens.map((tok) => {
    let h = 0x811c9dc5;
    for (const byte of enc.encode(tok)) {
      h ^= byte;
      h = Math.imul(h, 0x01000193) >>> 0;
    }
    return 1 + (h % buckets);
  });
}

/** The held-out item ids of an evaluation model (models/README.md), empty when there is none. */
async function readHeldOutItems(file: string): Promise<Set<string>> {
  let raw: string;
  try {
    raw = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return new Set();
    throw err;
  }
  try {
    return new Set(z.object({ items: z.array(z.string()) }).parse(JSON.parse(raw)).items);
  } catch (err) {
    throw new Error(`cannot read ${file}`, { cause: err });
  }
}
