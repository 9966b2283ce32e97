// The first-order Markov term (model.json `scorer.markov`, models/README.md): how often a
// candidate directly followed the subject's newest items in the training data, from
// transitions.bin, fed to scorer.onnx as counts and out-degrees.
import type { CsrTable } from '../../inference/csr.js';
import type { SequenceModel } from '../../inference/model.js';
import { ort } from '../../inference/onnx.js';
import { agoText, type ExplainedEvent, type ForecastReason } from '../reasons.js';
import type { Feeds, RecentItems, ScoringTerm, TermModule } from './term.js';

/** scorer.onnx inputs: counts and out-degrees of the newest item alone ([B, N], [B]). */
const NEWEST_INPUTS = ['candidate_transitions', 'newest_out_transitions'] as const;
/** ... of the `markovItems` newest items ([B, K, N], [B, K]). */
const HISTORY_INPUTS = ['candidate_transitions', 'history_out_transitions'] as const;

/** transitions.bin: successors most frequent first, int32 counts. */
export class MarkovTerm implements ScoringTerm {
  readonly name = 'markov';
  readonly recentItems: number;
  readonly reranks: boolean;
  /** All transitions out of each item (row sums). */
  private readonly totals: Float64Array;

  constructor(
    private readonly table: CsrTable,
    weights: readonly [number, number],
    /** `scorer.markovItems`; undefined: the newest item alone, in the older rank-1 inputs. */
    private readonly markovItems: number | undefined,
  ) {
    this.recentItems = markovItems ?? 1;
    // Negative weights can push a successor below items it did not follow.
    this.reranks = weights.some((b) => b < 0);
    this.totals = new Float64Array(table.rows);
    for (let i = 0; i < table.rows; i++) {
      for (let k = table.start(i); k < table.end(i); k++) {
        this.totals[i] = (this.totals[i] as number) + (table.counts[k] as number);
      }
    }
  }

  /** How often item `to` directly followed item `from`. */
  count(from: number, to: number): number {
    const k = this.table.find(from, to);
    return k < 0 ? 0 : (this.table.counts[k] as number);
  }

  /** All transitions out of `from`. */
  outOf(from: number): number {
    return this.totals[from] as number;
  }

  /** The successors of each of the newest `recentItems` items, up to `successors` each. */
  lifts(recent: RecentItems, { successors }: { successors: number }): number[] {
    return this.table.columnsOf(recent.items.slice(0, this.recentItems), successors);
  }

  /** Every item that ever followed one of the newest items the term reads (a stored count > 0). */
  touchedItems(recent: RecentItems): Set<number> {
    const { indptr, cols, counts } = this.table;
    const out = new Set<number>();
    const K = Math.min(this.recentItems, recent.items.length);
    for (let k = 0; k < K; k++) {
      const h = recent.items[k] as number;
      if (!(h > 0)) continue;
      const end = indptr[h + 1] as number;
      for (let p = indptr[h] as number; p < end; p++) {
        if ((counts[p] as number) > 0) out.add(cols[p] as number);
      }
    }
    return out;
  }

  /**
   * `C[h_k, candidate]` and `out(h_k)` for the K newest known items h_k, as `[B, K, N]` and
   * `[B, K]`, or `[B, N]` and `[B]` for the newest alone (models without `markovItems`). Zeros
   * where a row has fewer items.
   */
  feeds(recent: readonly RecentItems[], candidates: Int32Array, N: number): Feeds {
    const B = recent.length;
    const K = this.recentItems;
    const counts = new Float32Array(B * K * N);
    const outs = new Float32Array(B * K);
    recent.forEach((row, b) => {
      for (let k = 0; k < K && k < row.items.length; k++) {
        const from = row.items[k] as number;
        if (!(from > 0)) continue;
        outs[b * K + k] = this.outOf(from);
        const base = (b * K + k) * N;
        for (let n = 0; n < N; n++) {
          const t = candidates[b * N + n] as number;
          if (t > 0) counts[base + n] = this.count(from, t);
        }
      }
    });
    const [c, out] = this.markovItems === undefined ? NEWEST_INPUTS : HISTORY_INPUTS;
    return this.markovItems === undefined
      ? {
          [c]: new ort.Tensor('float32', counts, [B, N]),
          [out]: new ort.Tensor('float32', outs, [B]),
        }
      : {
          [c]: new ort.Tensor('float32', counts, [B, K, N]),
          [out]: new ort.Tensor('float32', outs, [B, K]),
        };
  }

  /**
   * FOLLOWS_LATEST / FOLLOWS_RECENT: for each of the newest items the term reads that the
   * candidate ever followed; weight = the share of all transitions out of that item.
   */
  explain(j: number, events: readonly ExplainedEvent[], recent: RecentItems): ForecastReason[] {
    const reasons: ForecastReason[] = [];
    for (let k = 0; k < Math.min(this.recentItems, recent.items.length); k++) {
      const i = recent.events[k] as number;
      const h = recent.items[k] as number;
      const count = j > 0 && h > 0 ? this.count(h, j) : 0;
      if (count === 0) continue;
      const out = this.outOf(h);
      reasons.push({
        kind: k === 0 ? 'FOLLOWS_LATEST' : 'FOLLOWS_RECENT',
        message:
          `often bought right after {item} (${agoText(events, i)}): ${count} time${count === 1 ? '' : 's'} ` +
          `in past shoppers' histories, ${((100 * count) / out).toFixed(0)}% of what came next`,
        weight: count / out,
        eventIndex: i,
        eventId: (events[i] as ExplainedEvent).eventId ?? null,
        categoryId: null,
      });
    }
    return reasons;
  }
}

export const markov: TermModule = {
  inputs: ({ scorer }) =>
    !scorer?.markov ? [] : scorer.markovItems === undefined ? NEWEST_INPUTS : HISTORY_INPUTS,
  bind(model: SequenceModel): MarkovTerm | null {
    const { scorer, files } = model.manifest;
    const weights = scorer?.markov;
    if (!weights) return null;
    const table = files.transitions ? model.table('transitions') : undefined;
    if (!table) throw new Error('model.json sets scorer.markov but names no files.transitions');
    return new MarkovTerm(table, weights, scorer?.markovItems);
  },
};
