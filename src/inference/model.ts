// The shipped model (models/README.md is the contract): loads model.json, the vocabularies,
// the item-embedding matrix and the three ONNX graphs, and turns plain inputs into tensors.
// Tensors are filled in place from typed arrays; no per-element boxing on the hot path.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { openSession, ort, type ExecutionProvider } from './onnx.js';
import { OnnxThread, type ModelSession } from './onnx-thread.js';
import { Cooccurrence } from './cooccurrence.js';
import { readManifest, type ModelManifest } from './manifest.js';

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
  /**
   * The subject's newest items known to the model, newest first (`recentKnownItems`): the
   * Markov term's "from" items. The term reads the first `markovItems` of them, the
   * co-occurrence term the first `cooccurrenceWindow`.
   */
  recentItemIds: readonly string[];
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
  /** `attributeIndex` as int64 tensor values. */
  private readonly attributeBigIndex: Map<string, bigint>;
  /** Per model item (index - 1): its id, learned embedding (a view) and attributes. */
  private readonly known: KnownEntry[];
  /** ONNX session runs of the encoder so far (≥ encode calls: one per length group). */
  encoderRuns = 0;

  private constructor(
    readonly manifest: ModelManifest,
    readonly vocab: z.infer<typeof vocabSchema>,
    /** Row-major `[numItems + 1, dim]`, row 0 = padding. */
    readonly itemEmbeddings: Float32Array,
    private readonly encoder: ModelSession,
    private readonly scorer: ModelSession,
    private readonly content: ModelSession,
    readonly provider: ExecutionProvider,
    readonly providerNote: string | undefined,
    /** First-order transition counts (transitions.bin), when the scorer has a Markov term. */
    readonly transitions: Transitions | null,
    /** Item co-occurrence similarities (cooccurrence.bin), when the scorer has that term. */
    readonly cooccurrence: Cooccurrence | null,
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
    // Copy into an aligned buffer: Buffer slices from the pool may not be 4-byte aligned.
    const itemEmbeddings = new Float32Array(raw.byteLength / 4);
    new Uint8Array(itemEmbeddings.buffer).set(raw);
    const markov = manifest.scorer?.markov ?? null;
    if (markov && !f.transitions) {
      throw new Error('model.json sets scorer.markov but names no files.transitions');
    }
    const transitions =
      markov && f.transitions
        ? Transitions.parse(await read(f.transitions), manifest.numItems, f.transitions)
        : null;
    const cooc = manifest.scorer?.cooccurrence;
    if (cooc && !f.cooccurrence) {
      throw new Error('model.json sets scorer.cooccurrence but names no files.cooccurrence');
    }
    const cooccurrence =
      cooc && f.cooccurrence
        ? Cooccurrence.parse(await read(f.cooccurrence), manifest.numItems, cooc, f.cooccurrence)
        : null;
    const heldOut = await readHeldOutItems(path.join(dir, 'heldout.json'));
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
      return new Model(
        manifest,
        vocab,
        itemEmbeddings,
        enc.session,
        sc.session,
        co.session,
        enc.provider,
        enc.fallbackReason,
        transitions,
        cooccurrence,
        heldOut,
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
    const markov = this.manifest.scorer?.markov;
    return this.manifest.scorer?.categoryWeight !== 0 || (!!markov && markov.some((b) => b < 0));
  }

  /**
   * How many of the subject's newest known items the scorer's Markov term reads
   * (`scorer.markovItems`, 1 when absent); 0 without a Markov term.
   */
  get markovItems(): number {
    return this.transitions ? (this.manifest.scorer?.markovItems ?? 1) : 0;
  }

  /**
   * How many of the subject's newest known items the scorer's co-occurrence term reads
   * (`scorer.cooccurrence.window`); 0 without that term.
   */
  get cooccurrenceWindow(): number {
    return this.cooccurrence ? (this.manifest.scorer?.cooccurrence?.window ?? 0) : 0;
  }

  /**
   * How many of the subject's newest known items the scorer reads (Markov and co-occurrence
   * terms), at least 1: the length of a ScorerInput's `recentItemIds`.
   */
  get recentItemsRead(): number {
    return Math.max(1, this.markovItems, this.cooccurrenceWindow);
  }

  /**
   * Items the scorer's Markov term can lift above the inner-product order: the successors of
   * each of `fromItemIds` (the subject's recent known items), up to `limit` each, most
   * frequent first, without repeats. Retrieving the top `first` nearest neighbours plus these
   * gives the scorer's exact top `first` (the term is never negative when both weights are
   * non-negative, and 0 for an item that followed none of them; `scorerReranks` covers the
   * other case).
   */
  successorsOf(fromItemIds: readonly string[], limit: number): string[] {
    return this.idsOf(this.successorIndices(fromItemIds, limit));
  }

  private successorIndices(fromItemIds: readonly string[], limit: number): number[] {
    const table = this.transitions;
    if (!table) return [];
    return this.relatedItems(fromItemIds, this.markovItems, (from) =>
      table.successors(from, limit),
    );
  }

  /**
   * Items the scorer's co-occurrence term can lift above the inner-product order: the stored
   * neighbours of each of the first `cooccurrenceWindow` of `fromItemIds` (the subject's recent
   * known items), up to `limit` each (default all), most similar first, without repeats. The
   * term is never negative and 0 for an item outside all of them, so with the nearest
   * neighbours and `successorsOf` they hold the scorer's exact top `first`. None when the term
   * has weight 0: it then lifts nothing.
   */
  cooccurringWith(fromItemIds: readonly string[], limit = Infinity): string[] {
    return this.idsOf(this.cooccurringIndices(fromItemIds, limit));
  }

  private cooccurringIndices(fromItemIds: readonly string[], limit: number): number[] {
    const table = this.cooccurrence;
    if (!table || this.manifest.scorer?.cooccurrence?.weight === 0) return [];
    return this.relatedItems(fromItemIds, this.cooccurrenceWindow, (from) =>
      table.neighbors(from, limit),
    );
  }

  /**
   * Model indices of every item the scorer's non-negative terms can lift for a subject whose
   * recent known items are `fromItemIds`: `successorsOf(fromItemIds, successors)` followed by
   * `cooccurringWith(fromItemIds, neighbors)`, without repeats. Indices, not ids: retrieval
   * and the scorer read them for every candidate of every forecast.
   */
  liftable(fromItemIds: readonly string[], successors: number, neighbors = Infinity): number[] {
    const following = this.successorIndices(fromItemIds, successors);
    const together = this.cooccurringIndices(fromItemIds, neighbors);
    return together.length === 0 ? following : [...new Set([...following, ...together])];
  }

  /**
   * The items `related(i)` lists (model indices) for each of the first `count` of `fromItemIds`
   * the model knows, in order, without repeats.
   */
  private relatedItems(
    fromItemIds: readonly string[],
    count: number,
    related: (from: number) => readonly number[],
  ): number[] {
    const out = new Set<number>();
    for (const id of fromItemIds.slice(0, count)) {
      const from = this.itemIndex.get(id);
      if (from === undefined) continue;
      for (const k of related(from)) out.add(k);
    }
    return [...out];
  }

  private idsOf(indices: readonly number[]): string[] {
    return indices.map((k) => this.vocab.items[k - 1] as string);
  }

  /**
   * Indices of the newest events on items the model knows, newest first, at most `limit`
   * (by default as many as the scorer reads, `recentItemsRead`): the events whose items are the
   * scorer's `recentItemIds`.
   */
  recentKnownIndices(
    events: readonly { itemId: string | null }[],
    limit = this.recentItemsRead,
  ): number[] {
    const out: number[] = [];
    for (let i = events.length - 1; i >= 0 && out.length < limit; i--) {
      if (this.knows(events[i]?.itemId)) out.push(i);
    }
    return out;
  }

  /** The items of `recentKnownIndices(events)`: a ScorerInput's `recentItemIds`. */
  recentKnownItems(events: readonly { itemId: string | null }[]): string[] {
    return this.recentKnownIndices(events).map((i) => events[i]?.itemId as string);
  }

  /** Whether the model was trained on this item (the encoder reads only such events). */
  knows(itemId: string | null | undefined): itemId is string {
    return itemId != null && this.itemIndex.has(itemId);
  }

  /** The Markov term's counts for `from` → `to`, or null without a transition table. */
  transitionOf(fromItemId: string, toItemId: string): { count: number; out: number } | null {
    const from = this.itemIndex.get(fromItemId);
    const to = this.itemIndex.get(toItemId);
    if (!this.transitions || from === undefined) return null;
    const out = this.transitions.outOf(from);
    return { count: to === undefined ? 0 : this.transitions.count(from, to), out };
  }

  /**
   * S[from, to], the co-occurrence similarity the scorer's item-kNN term reads (0 when `to` is
   * not among `from`'s stored neighbours), or null when that term is not in the scores (absent,
   * or weight 0) or `from` is unknown.
   */
  cooccurrenceOf(fromItemId: string, toItemId: string): number | null {
    const from = this.itemIndex.get(fromItemId);
    const to = this.itemIndex.get(toItemId);
    if (!this.cooccurrence || this.manifest.scorer?.cooccurrence?.weight === 0) return null;
    if (from === undefined) return null;
    return to === undefined ? 0 : this.cooccurrence.similarity(from, to);
  }

  /**
   * The largest S[from, ·] the co-occurrence table stores (`from`'s strongest neighbour), or null
   * under the same conditions as `cooccurrenceOf`.
   */
  strongestCooccurrence(fromItemId: string): number | null {
    const from = this.itemIndex.get(fromItemId);
    if (!this.cooccurrence || this.manifest.scorer?.cooccurrence?.weight === 0) return null;
    return from === undefined ? null : this.cooccurrence.strongest(from);
  }

  /** The learned embedding of an item known to the model, or undefined. */
  learnedEmbedding(itemId: string): Float32Array | undefined {
    return this.knownItem(itemId)?.embedding;
  }

  /** An item known to the model (learned embedding, attributes, index), or undefined. */
  knownItem(itemId: string): KnownItem | undefined {
    const k = this.itemIndex.get(itemId);
    return k === undefined ? undefined : this.known[k - 1];
  }

  /** The known item at a model index (1 .. numItems), or undefined. */
  itemAt(index: number): KnownItem | undefined {
    return this.known[index - 1];
  }

  /** Id of the attribute at an index of `categoryProbs`. */
  attributeAt(index: number): string | undefined {
    return index >= 1 ? this.vocab.attributes[index - 1] : undefined;
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
    let A = 1;
    for (const r of inputs) for (const c of r.candidates) A = Math.max(A, c.attributeIds.length);
    const C = numAttributes + 1;
    const states = new Float32Array(B * dim);
    const probs = new Float32Array(B * C);
    const embeddings = new Float32Array(B * N * dim);
    const attrs = new BigInt64Array(B * N * A);
    // Model index of each candidate, 0 = unknown to the model (content tower): the Markov and
    // co-occurrence inputs read it.
    const lookup = this.transitions !== null || this.cooccurrence !== null;
    const cands = new Int32Array(lookup ? B * N : 0);
    inputs.forEach((row, b) => {
      states.set(row.userState, b * dim);
      probs.set(row.categoryProbs, b * C);
      row.candidates.forEach((c, n) => {
        const index = c.index ?? this.itemIndex.get(c.itemId) ?? 0;
        if (lookup) cands[b * N + n] = index;
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
    const feeds: Record<string, ort.Tensor> = {
      user_state: new ort.Tensor('float32', states, [B, dim]),
      category_probs: new ort.Tensor('float32', probs, [B, C]),
      candidate_embeddings: new ort.Tensor('float32', embeddings, [B, N, dim]),
      candidate_attrs: new ort.Tensor('int64', attrs, [B, N, A]),
    };
    if (this.transitions) {
      Object.assign(feeds, this.transitionFeeds(this.transitions, inputs, cands, N));
    }
    if (this.cooccurrence) {
      feeds.candidate_cooccurrence = this.cooccurrenceFeed(this.cooccurrence, inputs, cands, N);
    }
    const out = await this.scorer.run(feeds);
    const scores = tensorData(out, 'scores');
    return inputs.map((row, b) => scores.slice(b * N, b * N + row.candidates.length));
  }

  /**
   * The Markov inputs (models/README.md): `C[h_k, candidate]` and `out(h_k)` for the K newest
   * known items h_k, as `[B, K, N]` and `[B, K]` (`scorer.markovItems`), or `[B, N]` and `[B]`
   * for the newest alone (models without it). Zeros where a row has fewer items.
   */
  private transitionFeeds(
    transitions: Transitions,
    inputs: readonly ScorerInput[],
    cands: Int32Array,
    N: number,
  ): Record<string, ort.Tensor> {
    const B = inputs.length;
    const K = this.markovItems;
    const counts = new Float32Array(B * K * N);
    const outs = new Float32Array(B * K);
    inputs.forEach((row, b) => {
      for (let k = 0; k < K; k++) {
        const fromId = row.recentItemIds[k];
        const from = fromId === undefined ? undefined : this.itemIndex.get(fromId);
        if (from === undefined) continue;
        outs[b * K + k] = transitions.outOf(from);
        const base = (b * K + k) * N;
        for (let n = 0; n < row.candidates.length; n++) {
          const t = cands[b * N + n] as number;
          if (t > 0) counts[base + n] = transitions.count(from, t);
        }
      }
    });
    return this.manifest.scorer?.markovItems === undefined
      ? {
          candidate_transitions: new ort.Tensor('float32', counts, [B, N]),
          newest_out_transitions: new ort.Tensor('float32', outs, [B]),
        }
      : {
          candidate_transitions: new ort.Tensor('float32', counts, [B, K, N]),
          history_out_transitions: new ort.Tensor('float32', outs, [B, K]),
        };
  }

  /**
   * The co-occurrence input (models/README.md), `[B, N]`: `sum over k < window of decay^k *
   * S[h_k, candidate]` over each row's `window` newest known items h_k (fewer: the missing
   * slots add 0; unknown candidates get 0). The scorer applies the weight itself.
   */
  private cooccurrenceFeed(
    cooccurrence: Cooccurrence,
    inputs: readonly ScorerInput[],
    cands: Int32Array,
    N: number,
  ): ort.Tensor {
    const { window, decay } = this.manifest.scorer?.cooccurrence ?? { window: 0, decay: 1 };
    const x = new Float32Array(inputs.length * N);
    const history: number[] = [];
    inputs.forEach((row, b) => {
      history.length = 0;
      for (let k = 0; k < window && k < row.recentItemIds.length; k++) {
        history.push(this.itemIndex.get(row.recentItemIds[k] as string) ?? 0);
      }
      cooccurrence.feature(history, decay, cands, b * N, row.candidates.length, x);
    });
    return new ort.Tensor('float32', x, [inputs.length, N]);
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

/** Most encoder runs one batch is split into by history length. */
const MAX_LENGTH_GROUPS = 3;
/**
 * The fixed cost of an encoder run, in padded positions: one run of one position took 0.33 ms,
 * a wide run 7.3 µs per position (B = 32, L = 50; shipped Beauty encoder, 1 thread).
 */
const RUN_COST_POSITIONS = 48;

/**
 * Splits a batch into at most MAX_LENGTH_GROUPS groups of rows (indices) with similar history
 * lengths, minimising the padded positions the runs compute plus a fixed cost per run
 * (dynamic programming over the rows sorted by length). A batch of histories of one length
 * stays one group.
 */
export function lengthGroups(lengths: readonly number[]): number[][] {
  const order = lengths
    .map((_, b) => b)
    .sort((a, b) => (lengths[a] as number) - (lengths[b] as number));
  const n = order.length;
  if (n === 0) return [];
  const len = (k: number) => Math.max(1, lengths[order[k] as number] as number);
  // best[g][j]: cost of the first j sorted rows in g groups; cut[g][j]: where the last starts.
  const best: number[][] = [[0, ...new Array<number>(n).fill(Infinity)]];
  const cut: number[][] = [[]];
  for (let g = 1; g <= Math.min(MAX_LENGTH_GROUPS, n); g++) {
    best.push(new Array<number>(n + 1).fill(Infinity));
    cut.push(new Array<number>(n + 1).fill(0));
    for (let j = 1; j <= n; j++) {
      for (let i = g - 1; i < j; i++) {
        const c = (best[g - 1]![i] as number) + RUN_COST_POSITIONS + (j - i) * len(j - 1);
        if (c < (best[g]![j] as number)) {
          best[g]![j] = c;
          cut[g]![j] = i;
        }
      }
    }
  }
  let g = 1;
  for (let k = 2; k < best.length; k++)
    if ((best[k]![n] as number) < (best[g]![n] as number)) g = k;
  const groups: number[][] = [];
  for (let j = n; g > 0; g--) {
    const i = cut[g]![j] as number;
    groups.unshift(order.slice(i, j));
    j = i;
  }
  return groups;
}

/**
 * First-order transition counts over model item indices (transitions.bin, models/README.md):
 * CSR rows, each row's successors most frequent first.
 */
export class Transitions {
  private constructor(
    private readonly indptr: Int32Array,
    private readonly succ: Int32Array,
    private readonly counts: Int32Array,
    private readonly totals: Float64Array,
  ) {}

  static parse(raw: Buffer, numItems: number, name: string): Transitions {
    const rows = numItems + 1;
    if (raw.byteLength % 4 !== 0 || raw.byteLength < (rows + 1) * 4) {
      throw new Error(
        `${name}: ${raw.byteLength} bytes is not a transition table for ${numItems} items`,
      );
    }
    const ints = new Int32Array(raw.byteLength / 4);
    new Uint8Array(ints.buffer).set(raw); // aligned copy (pooled Buffers may not be)
    const indptr = ints.subarray(0, rows + 1);
    const nnz = indptr[rows] as number;
    if (ints.length !== rows + 1 + 2 * nnz) {
      throw new Error(`${name}: ${ints.length} int32 values, expected ${rows + 1 + 2 * nnz}`);
    }
    const counts = ints.subarray(rows + 1 + nnz);
    const totals = new Float64Array(rows);
    for (let i = 0; i < rows; i++) {
      for (let k = indptr[i] as number; k < (indptr[i + 1] as number); k++) {
        totals[i] = (totals[i] as number) + (counts[k] as number);
      }
    }
    return new Transitions(indptr, ints.subarray(rows + 1, rows + 1 + nnz), counts, totals);
  }

  /** How often item `to` directly followed item `from` in the training data. */
  count(from: number, to: number): number {
    const end = this.indptr[from + 1] as number;
    for (let k = this.indptr[from] as number; k < end; k++) {
      if (this.succ[k] === to) return this.counts[k] as number;
    }
    return 0;
  }

  /** All transitions out of `from`. */
  outOf(from: number): number {
    return this.totals[from] as number;
  }

  /** Up to `limit` successors of `from`, most frequent first. */
  successors(from: number, limit: number): number[] {
    const start = this.indptr[from] as number;
    const end = Math.min(this.indptr[from + 1] as number, start + limit);
    return Array.from(this.succ.subarray(start, end));
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
