// A small fake sequence model (the SequenceModel interface of src/inference/model.ts), for
// unit tests of the forecast engine without ONNX: items `toy:1 .. toy:n`, whose embedding is
// `k / 10` on axis 0 plus 1 on axis k, and a user state of 1 on axis 0 plus 1 on the axis of each
// event's item. So the score of an item is `k / 10`, plus 1 for each time the subject had it:
// among new items the highest-numbered ranks first. With `transitions`, the scorer also has the
// Markov term (weights [1, 0]: + log(1 + c), c = how often the item followed the newest one),
// bound from a transitions table as the shipped model's is. Every call is recorded.
import { CsrTable } from '../../src/inference/csr.js';
import type { ColdItemsManifest, ModelManifest } from '../../src/inference/manifest.js';
import type {
  ContentInput,
  EncoderOutput,
  KnownItem,
  ScorerInput,
  SequenceEvent,
  SequenceModel,
  TermFeeds,
} from '../../src/inference/model.js';

export const FAKE_DIM = 64;

export class FakeModel implements SequenceModel {
  readonly manifest: ModelManifest;
  readonly provider = 'fake';
  encoderRuns = 0;
  /** The histories of each encode call, and the candidate ids of each score call. */
  readonly calls: { encode: string[][][]; score: string[][][] } = { encode: [], score: [] };
  private readonly items: KnownItem[];
  private readonly transitions: CsrTable | undefined;
  readonly contentVectors: Float32Array | null;

  /**
   * `attributes[k - 1]`: the category ids of item k; `transitions`: [from, to, count] model
   * indices, each row's successors most frequent first.
   */
  constructor(
    readonly dataset: string,
    private readonly attributes: readonly (readonly string[])[],
    transitions: readonly [number, number, number][] = [],
    readonly version = `${dataset}-fake-1`,
    /** scorer.coldItems and the content vectors it reads ([n + 1, FAKE_DIM]). */
    cold?: { spec: ColdItemsManifest; contentVectors: Float32Array },
  ) {
    this.contentVectors = cold?.contentVectors ?? null;
    const n = attributes.length;
    if (n >= FAKE_DIM) throw new Error(`a fake model has at most ${FAKE_DIM - 1} items`);
    this.transitions = transitions.length ? transitionTable(n, transitions) : undefined;
    this.items = attributes.map((attributeIds, i) => ({
      id: `${dataset}:${i + 1}`,
      index: i + 1,
      embedding: this.vector(i + 1),
      attributeIds,
    }));
    this.manifest = {
      version,
      dataset,
      dim: FAKE_DIM,
      maxLen: 50,
      numItems: n,
      numAttributes: this.categories.length,
      eventTypes: ['<pad>', '<unknown>', 'VIEW', 'CART', 'PURCHASE', 'SEARCH'],
      timeGapBucketsSeconds: [60],
      textHashBuckets: 16,
      priceBandsUpper: [10],
      heads: { category: true, purchase: false },
      files: {
        encoder: 'encoder.onnx',
        scorer: 'scorer.onnx',
        content: 'content.onnx',
        itemEmbeddings: 'item_embeddings.f32',
        vocab: 'vocab.json',
        ...(this.transitions && { transitions: 'transitions.bin' }),
        ...(cold && { contentVectors: 'content_vectors.f32' }),
      },
      scorer: {
        categoryWeight: 0,
        ...(this.transitions && { markov: [1, 0] as [number, number] }),
        ...(cold && { coldItems: cold.spec }),
      },
    };
  }

  /** The categories, in index order (1-based in `categoryProbs`). */
  get categories(): string[] {
    return [...new Set(this.attributes.flat())].sort();
  }

  knows(itemId: string | null | undefined): itemId is string {
    return itemId != null && this.indexOf(itemId) !== undefined;
  }

  indexOf(itemId: string | null): number | undefined {
    return this.items.find((it) => it.id === itemId)?.index;
  }

  knownItem(itemId: string): KnownItem | undefined {
    return this.items.find((it) => it.id === itemId);
  }

  itemAt(index: number): KnownItem | undefined {
    return this.items[index - 1];
  }

  attributeIndexOf(attributeId: string): number | undefined {
    const k = this.categories.indexOf(attributeId);
    return k < 0 ? undefined : k + 1;
  }

  attributeAt(index: number): string | undefined {
    return this.categories[index - 1];
  }

  table(name: string): CsrTable | undefined {
    return name === 'transitions' ? this.transitions : undefined;
  }

  /**
   * User state as above; the next category is the newest known item's first category (all its
   * probability); attention is spread evenly over the known events.
   */
  async encode(inputs: readonly (readonly SequenceEvent[])[]): Promise<EncoderOutput[]> {
    this.encoderRuns += 1;
    this.calls.encode.push(inputs.map((events) => events.map((e) => e.itemId ?? '')));
    return inputs.map((events) => {
      const userState = new Float32Array(FAKE_DIM);
      userState[0] = 1;
      const known = events.flatMap((e, i) => (this.knows(e.itemId) ? [i] : []));
      const eventWeights = new Float32Array(events.length);
      for (const i of known) {
        const index = this.indexOf(events[i]!.itemId) as number;
        userState[index] = (userState[index] as number) + 1;
        eventWeights[i] = 1 / known.length;
      }
      const categoryProbs = new Float32Array(this.categories.length + 1);
      const newest = known.length ? this.knownItem(events[known.at(-1)!]!.itemId as string) : null;
      const next = newest?.attributeIds[0];
      if (next !== undefined) categoryProbs[this.attributeIndexOf(next) as number] = 1;
      return { userState, categoryProbs, eventWeights, purchaseProbability: null };
    });
  }

  /** The inner product, plus log(1 + c) from the Markov term's `candidate_transitions`. */
  async score(inputs: readonly ScorerInput[], termFeeds?: TermFeeds): Promise<Float32Array[]> {
    this.calls.score.push(inputs.map((r) => r.candidates.map((c) => c.itemId)));
    const N = Math.max(1, ...inputs.map((r) => r.candidates.length));
    const candidates = new Int32Array(inputs.length * N);
    inputs.forEach((r, b) =>
      r.candidates.forEach((c, n) => (candidates[b * N + n] = this.indexOf(c.itemId) ?? 0)),
    );
    const counts = termFeeds?.(candidates, N).candidate_transitions?.data as
      Float32Array | undefined;
    return inputs.map(
      (r, b) =>
        new Float32Array(
          r.candidates.map(
            (c, n) =>
              c.embedding.reduce((s, x, d) => s + x * r.userState[d]!, 0) +
              Math.log1p(counts?.[b * N + n] ?? 0),
          ),
        ),
    );
  }

  /** A new product: 0.05 on axis 0 (below every known item). */
  async embedContent(inputs: readonly ContentInput[]): Promise<Float32Array[]> {
    return inputs.map(() => {
      const v = new Float32Array(FAKE_DIM);
      v[0] = 0.05;
      return v;
    });
  }

  async release(): Promise<void> {}

  private vector(k: number): Float32Array {
    const v = new Float32Array(FAKE_DIM);
    v[0] = k / 10;
    v[k] = 1;
    return v;
  }
}

/** transitions.bin bytes for items 1..n from [from, to, count] triples (models/README.md). */
function transitionTable(n: number, triples: readonly [number, number, number][]): CsrTable {
  const rows = Array.from({ length: n + 1 }, (_, i) =>
    triples.filter(([from]) => from === i).sort((a, b) => b[2] - a[2]),
  );
  const indptr = [0];
  for (const r of rows) indptr.push(indptr.at(-1)! + r.length);
  const flat = rows.flat();
  const ints = [...indptr, ...flat.map(([, to]) => to), ...flat.map(([, , c]) => c)];
  return CsrTable.parse(Buffer.from(Int32Array.from(ints).buffer), n, 'transitions.bin', 'fake');
}
