// The shipped model (models/README.md is the contract): loads model.json, the vocabularies,
// the item-embedding matrix and the three ONNX graphs, and turns plain inputs into tensors.
// Tensors are filled in place from typed arrays; no per-element boxing on the hot path.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { openSession, ort, type ExecutionProvider } from './onnx.js';

const manifestSchema = z.object({
  version: z.string().min(1),
  dataset: z.string().min(1),
  dim: z.number().int().positive(),
  maxLen: z.number().int().positive(),
  numItems: z.number().int().positive(),
  numAttributes: z.number().int().nonnegative(),
  eventTypes: z.array(z.string()).min(2),
  timeGapBucketsSeconds: z.array(z.number().positive()),
  textHashBuckets: z.number().int().positive(),
  priceBandsUpper: z.array(z.number().positive()),
  heads: z.object({ category: z.boolean(), purchase: z.boolean() }),
  /** Weight of the category term in scorer.onnx; 0 = the scorer is the inner product alone. */
  scorer: z.object({ categoryWeight: z.number() }).optional(),
  /** Inputs the training data had; others are fed as "unknown" (models/README.md). */
  observed: z.object({ eventTypes: z.array(z.string()), timeGaps: z.boolean() }).optional(),
  files: z.object({
    encoder: z.string(),
    scorer: z.string(),
    content: z.string(),
    itemEmbeddings: z.string(),
    vocab: z.string(),
  }),
});
export type ModelManifest = z.infer<typeof manifestSchema>;

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
  embedding: Float32Array;
  /** External category/attribute ids of the candidate item. */
  attributeIds: readonly string[];
}

export interface ScorerInput {
  userState: Float32Array;
  categoryProbs: Float32Array;
  candidates: readonly Candidate[];
}

export interface ContentInput {
  attributeIds: readonly string[];
  text: string | null;
  price: number | null;
}

export class Model {
  readonly itemIndex: Map<string, number>;
  readonly attributeIndex: Map<string, number>;

  private constructor(
    readonly manifest: ModelManifest,
    readonly vocab: z.infer<typeof vocabSchema>,
    /** Row-major `[numItems + 1, dim]`, row 0 = padding. */
    readonly itemEmbeddings: Float32Array,
    private readonly encoder: ort.InferenceSession,
    private readonly scorer: ort.InferenceSession,
    private readonly content: ort.InferenceSession,
    readonly provider: ExecutionProvider,
    readonly providerNote: string | undefined,
  ) {
    this.itemIndex = new Map(vocab.items.map((id, k) => [id, k + 1]));
    this.attributeIndex = new Map(vocab.attributes.map((id, k) => [id, k + 1]));
  }

  static async load(dir: string, provider: 'auto' | 'cuda' | 'cpu', threads = 0): Promise<Model> {
    const read = (f: string) => readFile(path.join(dir, f));
    let manifest: ModelManifest;
    try {
      manifest = manifestSchema.parse(JSON.parse((await read('model.json')).toString('utf8')));
    } catch (err) {
      throw new Error(`cannot read model manifest ${path.join(dir, 'model.json')}`, { cause: err });
    }
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
    // Copy into an aligned buffer: Buffer slices from the pool may not be 4-byte aligned.
    const itemEmbeddings = new Float32Array(raw.byteLength / 4);
    new Uint8Array(itemEmbeddings.buffer).set(raw);
    const opened: ort.InferenceSession[] = [];
    try {
      const enc = await openSession(path.join(dir, f.encoder), provider, threads);
      opened.push(enc.session);
      const same = enc.provider === 'cuda' ? 'cuda' : 'cpu';
      const sc = await openSession(path.join(dir, f.scorer), same, threads);
      opened.push(sc.session);
      const co = await openSession(path.join(dir, f.content), same, threads);
      return new Model(
        manifest,
        vocab,
        itemEmbeddings,
        enc.session,
        sc.session,
        co.session,
        enc.provider,
        enc.fallbackReason,
      );
    } catch (err) {
      await Promise.all(opened.map((x) => x.release()));
      throw err;
    }
  }

  get version(): string {
    return this.manifest.version;
  }

  /**
   * Whether scorer.onnx can rank candidates differently from the inner product pgvector
   * retrieves them by. When it cannot (`scorer.categoryWeight` = 0), the top `first` retrieved
   * candidates are already the forecast: fetching more only to re-score them changes nothing.
   * A model that does not say is assumed to re-rank.
   */
  get scorerReranks(): boolean {
    return this.manifest.scorer?.categoryWeight !== 0;
  }

  /** The learned embedding of an item known to the model, or undefined. */
  learnedEmbedding(itemId: string): Float32Array | undefined {
    const k = this.itemIndex.get(itemId);
    if (k === undefined) return undefined;
    const d = this.manifest.dim;
    return this.itemEmbeddings.subarray(k * d, (k + 1) * d);
  }

  /** Learned embedding and attribute ids of an item known to the model, or undefined. */
  knownItem(itemId: string): { embedding: Float32Array; attributeIds: string[] } | undefined {
    const embedding = this.learnedEmbedding(itemId);
    if (!embedding) return undefined;
    const k = this.itemIndex.get(itemId) as number;
    const attrs = this.vocab.itemAttributes[k - 1] ?? [];
    return { embedding, attributeIds: attrs.map((a) => this.attributeAt(a) as string) };
  }

  /** Id of the attribute at an index of `categoryProbs`. */
  attributeAt(index: number): string | undefined {
    return index >= 1 ? this.vocab.attributes[index - 1] : undefined;
  }

  async encode(inputs: readonly (readonly SequenceEvent[])[]): Promise<EncoderOutput[]> {
    const { maxLen: L, dim, numAttributes } = this.manifest;
    const B = inputs.length;
    const items = new BigInt64Array(B * L);
    const types = new BigInt64Array(B * L);
    const gaps = new BigInt64Array(B * L);
    // For each row, which input event sits at each position (-1 = padding).
    const source = new Int32Array(B * L).fill(-1);
    inputs.forEach((events, b) => {
      const known: number[] = [];
      events.forEach((e, i) => {
        if (e.itemId !== null && this.itemIndex.has(e.itemId)) known.push(i);
      });
      const kept = known.slice(-L);
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
      item_ids: new ort.Tensor('int64', items, [B, L]),
      event_types: new ort.Tensor('int64', types, [B, L]),
      time_gaps: new ort.Tensor('int64', gaps, [B, L]),
    });
    const userState = tensorData(out, 'user_state');
    const categoryProbs = tensorData(out, 'category_probs');
    const attention = tensorData(out, 'attention');
    const purchase = this.manifest.heads.purchase ? tensorData(out, 'purchase_prob') : undefined;
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

  /** Exact scores of each row's candidates (same order); rows may have different lengths. */
  async score(inputs: readonly ScorerInput[]): Promise<Float32Array[]> {
    const { dim, numAttributes } = this.manifest;
    const B = inputs.length;
    const N = Math.max(1, ...inputs.map((r) => r.candidates.length));
    const A = Math.max(1, ...inputs.flatMap((r) => r.candidates.map((c) => c.attributeIds.length)));
    const C = numAttributes + 1;
    const states = new Float32Array(B * dim);
    const probs = new Float32Array(B * C);
    const embeddings = new Float32Array(B * N * dim);
    const attrs = new BigInt64Array(B * N * A);
    inputs.forEach((row, b) => {
      states.set(row.userState, b * dim);
      probs.set(row.categoryProbs, b * C);
      row.candidates.forEach((c, n) => {
        embeddings.set(c.embedding, (b * N + n) * dim);
        let a = 0;
        for (const id of c.attributeIds) {
          const k = this.attributeIndex.get(id);
          if (k !== undefined && a < A) attrs[(b * N + n) * A + a++] = BigInt(k);
        }
      });
    });
    const out = await this.scorer.run({
      user_state: new ort.Tensor('float32', states, [B, dim]),
      category_probs: new ort.Tensor('float32', probs, [B, C]),
      candidate_embeddings: new ort.Tensor('float32', embeddings, [B, N, dim]),
      candidate_attrs: new ort.Tensor('int64', attrs, [B, N, A]),
    });
    const scores = tensorData(out, 'scores');
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
      attr_ids: new ort.Tensor('int64', attrs, [B, A]),
      text_tokens: new ort.Tensor('int64', tokens, [B, T]),
      price_band: new ort.Tensor('int64', bands, [B]),
    });
    const emb = tensorData(out, 'embedding');
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
    await Promise.all([this.encoder.release(), this.scorer.release(), this.content.release()]);
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
