// The item co-occurrence term (model.json `scorer.cooccurrence`, models/README.md):
// `weight * sum over k < window of decay^k * S[h_k, candidate]` over the subject's newest
// items h_k, S read from cooccurrence.bin. Never negative and 0 for items outside the recent
// items' stored neighbours, so retrieval adds those neighbours and the top items stay exact.
import type { CsrTable } from '../../inference/csr.js';
import type { SequenceModel } from '../../inference/model.js';
import { ort } from '../../inference/onnx.js';
import type { ScorerManifest } from '../../inference/manifest.js';
import { agoText, type ExplainedEvent, type ForecastReason } from '../reasons.js';
import type { Feeds, LiftLimits, RecentItems, ScoringTerm, TermModule } from './term.js';

type Parameters = NonNullable<ScorerManifest['cooccurrence']>;

/** The scorer.onnx input: `[B, N]`, the decayed similarity sum before the weight. */
const INPUT = 'candidate_cooccurrence';

export class CooccurrenceTerm implements ScoringTerm {
  readonly name = 'cooccurrence';
  readonly recentItems: number;
  readonly reranks = false;
  private readonly sims: Float32Array;
  /**
   * Dense accumulator over item indices for `feature`, all zeros between calls: a row's
   * decayed similarities are summed here and read back per candidate, O(window × neighbours +
   * candidates) without allocation. One per table is enough: `feature` is synchronous.
   */
  private readonly scratch: Float64Array;
  /** `weight * x` per candidate; only while the term is in the scores (weight > 0). */
  readonly addend?: (recent: RecentItems, candidates: Int32Array) => Float64Array;

  constructor(
    private readonly table: CsrTable,
    private readonly params: Parameters,
  ) {
    // The scorer takes the input even at weight 0, over the whole window.
    this.recentItems = params.window;
    this.sims = table.weights;
    this.scratch = new Float64Array(table.rows);
    if (this.active) {
      this.addend = (recent, candidates) => {
        const x = new Float32Array(candidates.length);
        this.feature(this.history(recent), params.decay, candidates, 0, candidates.length, x);
        const out = new Float64Array(x.length);
        for (let n = 0; n < x.length; n++) out[n] = params.weight * (x[n] as number);
        return out;
      };
    }
  }

  /**
   * Checks the table against its manifest part; throws naming `name`. Rows hold at most
   * `neighbors` items of the catalogue with similarities > 0; row 0 (padding) is empty.
   */
  static check(table: CsrTable, params: Parameters, name: string): void {
    const { indptr, cols } = table;
    const rows = table.rows;
    if (table.size !== params.pairs) {
      throw new Error(
        `${name}: indptr[${rows}] = ${table.size} pairs, model.json scorer.cooccurrence.pairs says ${params.pairs}`,
      );
    }
    if (indptr[0] !== 0 || indptr[1] !== 0) {
      throw new Error(`${name}: row 0 (padding) must be empty and start at 0`);
    }
    for (let i = 1; i < rows; i++) {
      const start = table.start(i);
      const end = table.end(i);
      if (end < start || end - start > params.neighbors) {
        throw new Error(
          `${name}: row ${i} has ${end - start} neighbours (at most ${params.neighbors})`,
        );
      }
      for (let k = start; k < end; k++) {
        const j = cols[k] as number;
        const s = table.weights[k] as number;
        if (!(j >= 1 && j < rows) || !(s > 0)) {
          throw new Error(`${name}: row ${i} holds neighbour ${j} with similarity ${s}`);
        }
      }
    }
  }

  /** Whether the term is in the scores at all: at weight 0 it lifts and explains nothing. */
  private get active(): boolean {
    return this.params.weight !== 0;
  }

  /** S[from, to]: the similarity of `to` in row `from`, 0 when the row does not store it. */
  similarity(from: number, to: number): number {
    const k = this.table.find(from, to);
    return k < 0 ? 0 : (this.sims[k] as number);
  }

  /** The largest similarity in row `from` (its first entry), 0 for an empty row. */
  strongest(from: number): number {
    const start = this.table.start(from);
    return start < this.table.end(from) ? (this.sims[start] as number) : 0;
  }

  /** The stored neighbours of the `window` newest items, up to `cooccurrenceNeighbors` each. */
  lifts(recent: RecentItems, limits: LiftLimits): number[] {
    if (!this.active) return [];
    const limit = limits.cooccurrenceNeighbors ?? Infinity;
    return this.table.columnsOf(recent.items.slice(0, this.params.window), limit);
  }

  /** `candidate_cooccurrence [B, N]`; the scorer applies the weight itself. */
  feeds(recent: readonly RecentItems[], candidates: Int32Array, N: number): Feeds {
    const x = new Float32Array(recent.length * N);
    recent.forEach((row, b) =>
      this.feature(this.history(row), this.params.decay, candidates, b * N, N, x),
    );
    return { [INPUT]: new ort.Tensor('float32', x, [recent.length, N]) };
  }

  /**
   * OFTEN_TOGETHER, from the recent item whose decayed contribution `decay^k * S[h_k, j]` is the
   * largest (the newest on ties); weight = S relative to that item's strongest stored neighbour
   * (1 for it: a table with sequential rules can hold values above 1).
   */
  explain(j: number, events: readonly ExplainedEvent[], recent: RecentItems): ForecastReason[] {
    if (!this.active) return [];
    let best: { k: number; s: number; x: number } | null = null;
    let w = 1;
    for (let k = 0; k < Math.min(this.params.window, recent.items.length); k++) {
      const h = recent.items[k] as number;
      const s = j > 0 && h > 0 ? this.similarity(h, j) : 0;
      if (s > 0 && (!best || w * s > best.x)) best = { k, s, x: w * s };
      w *= this.params.decay;
    }
    if (!best) return [];
    const i = recent.events[best.k] as number;
    const from = events[i] as ExplainedEvent;
    // > 0: the row holds j
    const strongest = this.strongest(recent.items[best.k] as number);
    const sequential = this.params.sequential;
    return [
      {
        kind: 'OFTEN_TOGETHER',
        message:
          `shoppers who had {item} (${agoText(events, i)}) often also ` +
          (sequential
            ? `had this one, or bought it within ${sequential.maxGap} purchases after it`
            : `had this one`),
        weight: best.s / strongest,
        eventIndex: i,
        eventId: from.eventId ?? null,
        categoryId: null,
      },
    ];
  }

  /** The window newest items (model indices), newest first. */
  private history(recent: RecentItems): readonly number[] {
    return recent.items.length <= this.params.window
      ? recent.items
      : recent.items.slice(0, this.params.window);
  }

  /**
   * `out[at + n] = sum over k of decay^k * S[history[k], candidates[at + n]]` for `n < count`
   * (the scorer's input without its weight).
   * `history`: model indices, newest first, repeats kept (0 = a missing slot, contributes 0);
   * `candidates`: model indices, 0 for an item the model does not know (gets 0).
   */
  feature(
    history: readonly number[],
    decay: number,
    candidates: Int32Array,
    at: number,
    count: number,
    out: Float32Array,
  ): void {
    const { indptr, cols } = this.table;
    const acc = this.scratch;
    let w = 1;
    for (let k = 0; k < history.length; k++, w *= decay) {
      const h = history[k] as number;
      if (!(h > 0)) continue;
      const end = indptr[h + 1] as number;
      for (let p = indptr[h] as number; p < end; p++) {
        const j = cols[p] as number;
        acc[j] = (acc[j] as number) + w * (this.sims[p] as number);
      }
    }
    for (let n = 0; n < count; n++) {
      const j = candidates[at + n] as number;
      out[at + n] = j > 0 ? (acc[j] as number) : 0;
    }
    for (const h of history) {
      if (!(h > 0)) continue;
      const end = indptr[h + 1] as number;
      for (let p = indptr[h] as number; p < end; p++) acc[cols[p] as number] = 0;
    }
  }
}

export const cooccurrence: TermModule = {
  inputs: ({ scorer }) => (scorer?.cooccurrence ? [INPUT] : []),
  bind(model: SequenceModel): CooccurrenceTerm | null {
    const { scorer, files } = model.manifest;
    const params = scorer?.cooccurrence;
    if (!params) return null;
    const table = files.cooccurrence ? model.table('cooccurrence') : undefined;
    if (!files.cooccurrence || !table) {
      throw new Error('model.json sets scorer.cooccurrence but names no files.cooccurrence');
    }
    CooccurrenceTerm.check(table, params, files.cooccurrence);
    return new CooccurrenceTerm(table, params);
  },
};
