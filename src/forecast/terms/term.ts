// What a scoring term is: one addend of scorer.onnx's score beside the inner product, with
// everything the gateway does for it (models/README.md describes each term's inputs). A term
// module binds itself to a model whose manifest has it; the engine, retrieval pruning and the
// explanations loop over the bound terms and know none of them by name.
import type { ModelManifest } from '../../inference/manifest.js';
import type { SequenceModel } from '../../inference/model.js';
import type { ort } from '../../inference/onnx.js';
import type { ExplainedEvent, ForecastReason } from '../reasons.js';

/** scorer.onnx inputs by name. */
export type Feeds = Record<string, ort.Tensor>;

/** The subject's newest events on items the model knows, newest first. */
export interface RecentItems {
  /** Their indices in the subject's events. */
  readonly events: readonly number[];
  /** Their items' model indices (1-based; 0 marks a slot without a known item, read as empty). */
  readonly items: readonly number[];
}

/** How many items a term may lift per recent item (retrieval settings; absent = all). */
export interface LiftLimits {
  successors: number;
  cooccurrenceNeighbors?: number | null;
}

export interface ScoringTerm {
  readonly name: string;
  /** How many of the subject's newest known items the term reads (0: none). */
  readonly recentItems: number;
  /**
   * Whether the term can order candidates differently from the inner product plus the items it
   * lifts: negative somewhere, or non-zero for items it does not lift. With such a term, the
   * nearest neighbours are retrieved deeper and re-scored (docs/forecasts.md).
   */
  readonly reranks: boolean;
  /**
   * Model indices of the items the term can lift above the inner-product order for a subject
   * whose newest known items are `recent` (newest first), without repeats: retrieved beside the
   * nearest neighbours so that the scorer's top items stay exact.
   */
  lifts(recent: RecentItems, limits: LiftLimits): number[];
  /**
   * The term's exact addend for each of `candidates` (model indices, 0 = unknown to the model),
   * where it can be computed without the scorer: retrieval prunes lifted items with it
   * (src/forecast/terms/reachable.ts). Absent when only scorer.onnx knows the addend.
   */
  readonly addend?: (recent: RecentItems, candidates: Int32Array) => Float64Array;
  /**
   * For a term without `addend`: the items (model indices) it adds anything to for this subject,
   * one set per forecast (pruning asks about each of its lifted items). A term with neither may
   * add to any item: pruning keeps every lifted item then.
   */
  touchedItems?(recent: RecentItems): ReadonlySet<number>;
  /**
   * The scorer inputs the term adds for a batch: `recent[b]` of row b; `candidates` the model
   * indices of every row's candidates, `[B, width]` row-major, 0 for unknown items and padding.
   */
  feeds(recent: readonly RecentItems[], candidates: Int32Array, width: number): Feeds;
  /** Why the term lifts candidate `j` (a model index, 0 = unknown) for this subject. */
  explain(j: number, events: readonly ExplainedEvent[], recent: RecentItems): ForecastReason[];
}

/** A scoring term's module: binds it to a model. */
export interface TermModule {
  /** The scorer.onnx inputs the term adds for a model with this manifest (none: not in it). */
  inputs(manifest: ModelManifest): readonly string[];
  /**
   * The term for `model`, or null when the model's scorer does not have it. Throws, naming the
   * file or manifest key, when the model's files do not fit the term.
   */
  bind(model: SequenceModel): ScoringTerm | null;
}
