// The scoring terms a model's scorer has, bound to it: what the engine, retrieval and the
// explanations ask of "the scorer's terms" together. A new term is one module in this folder
// (term.ts says what it provides), listed in TERMS, and its part of the manifest
// (src/inference/manifest.ts); models/training/foresight_training/sequence/terms/ has its training
// side (docs/forecasts.md, "Scoring terms, and adding one").
import type { ModelManifest } from '../../inference/manifest.js';
import type { SequenceModel } from '../../inference/model.js';
import type { ExplainedEvent, ForecastReason } from '../reasons.js';
import { category } from './category.js';
import { cooccurrence } from './cooccurrence.js';
import { markov } from './markov.js';
import type { Feeds, LiftLimits, RecentItems, ScoringTerm, TermModule } from './term.js';

export type { LiftLimits, RecentItems, ScoringTerm } from './term.js';

/** Every term, in the order their lifted items and reasons are listed. */
const TERMS: readonly TermModule[] = [category, markov, cooccurrence];

export class ScoringTerms {
  /** How many of the subject's newest known items the terms read, at least 1. */
  readonly recentItems: number;

  constructor(
    private readonly model: SequenceModel,
    readonly list: readonly ScoringTerm[],
  ) {
    this.recentItems = Math.max(1, ...list.map((t) => t.recentItems));
  }

  /**
   * Whether scorer.onnx can rank candidates differently from the inner product plus the lifted
   * items (some term `reranks`). When it cannot, the top `first` nearest neighbours plus the
   * lifted items hold the forecast: retrieving deeper only to re-score changes nothing.
   */
  get reranks(): boolean {
    return this.list.some((t) => t.reranks);
  }

  /**
   * Whether retrieval can leave out lifted items that cannot reach the top (reachable.ts):
   * every term is non-negative and one has an exact addend (without one, every lifted item is
   * one that only the scorer can place, and all are kept).
   */
  get prunes(): boolean {
    return !this.reranks && this.list.some((t) => t.addend);
  }

  /**
   * The newest events on items the model knows, newest first, at most `limit` (by default as
   * many as the terms read): the items the terms read, in retrieval, scoring and explanations.
   */
  recent(events: readonly { itemId: string | null }[], limit = this.recentItems): RecentItems {
    const at: number[] = [];
    const items: number[] = [];
    for (let i = events.length - 1; i >= 0 && at.length < limit; i--) {
      const index = this.model.indexOf(events[i]?.itemId ?? null);
      if (index === undefined) continue;
      at.push(i);
      items.push(index);
    }
    return { events: at, items };
  }

  /** The items every term can lift (model indices), term by term, without repeats. */
  lifts(recent: RecentItems, limits: LiftLimits): number[] {
    let first: number[] = [];
    let all: Set<number> | null = null;
    for (const t of this.list) {
      const lifted = t.lifts(recent, limits);
      if (lifted.length === 0) continue;
      if (first.length === 0) first = lifted;
      else {
        all ??= new Set(first);
        for (const j of lifted) all.add(j);
      }
    }
    return all ? [...all] : first;
  }

  /** The scorer inputs of every term (term.ts: ScoringTerm.feeds). */
  feeds(recent: readonly RecentItems[], candidates: Int32Array, width: number): Feeds {
    return Object.assign({}, ...this.list.map((t) => t.feeds(recent, candidates, width)));
  }

  /** Every term's reasons for candidate `j` (a model index, 0 = unknown), term by term. */
  explain(j: number, events: readonly ExplainedEvent[], recent: RecentItems): ForecastReason[] {
    return this.list.flatMap((t) => t.explain(j, events, recent));
  }
}

/**
 * The scorer.onnx inputs beyond the base four that a model with this manifest takes: its terms'
 * (the contract check of src/inference/contract.ts and of the model tests).
 */
export function scorerTermInputs(manifest: ModelManifest): string[] {
  return TERMS.flatMap((m) => m.inputs(manifest));
}

/**
 * `model` once its scoring terms bind (their tables read and checked): a model whose files do
 * not fit a term is released and refused here, when it is loaded, rather than when an engine
 * is built on it after start-up has written its embeddings.
 */
export async function withTerms<M extends SequenceModel>(loading: Promise<M>): Promise<M> {
  const model = await loading;
  try {
    bindTerms(model);
  } catch (err) {
    await model.release();
    throw err;
  }
  return model;
}

/** Each model's bound terms: loading checks them, then its engine and the rollout use them. */
const bound = new WeakMap<SequenceModel, ScoringTerms>();

/**
 * The terms of `model`'s scorer, bound once per model; throws when its files do not fit one
 * (term.ts: bind).
 */
export function bindTerms(model: SequenceModel): ScoringTerms {
  let terms = bound.get(model);
  if (!terms) {
    terms = new ScoringTerms(
      model,
      TERMS.flatMap((m) => m.bind(model) ?? []),
    );
    bound.set(model, terms);
  }
  return terms;
}
