// What a forecast is: the request a resolver hands the engine and the answer it gets back,
// shared by the engine (engine.ts), its stages (stages/) and the layers above.
import { datasetOf } from '../db/events.js';
import type { SubjectEventRow } from '../db/forecasts.js';
import type { PolicyLog, ServingPolicy } from '../exploration/policy.js';
import type { SequenceEvent } from '../inference/model.js';
import type { PageViewRecord } from '../intent/features.js';
import type { PurchaseIntent } from '../intent/service.js';
import type { ForecastContext, ForecastStrategy } from './coldstart.js';
import type { ForecastReason } from './reasons.js';
import type { CategoryStrategy } from '../generated/graphql.js';
import { type CandidateFilter } from '../db/retrieval.js';

export type ForecastMode = 'MODEL' | 'POPULARITY';

export type ForecastSubject =
  | { kind: 'user'; userId: string }
  | { kind: 'session'; sessionId: string }
  | {
      kind: 'anonymous';
      events: readonly SequenceEvent[];
      /** The page views among `events` (purchase intent reads them). */
      pages?: readonly PageViewRecord[];
    };

export interface ForecastFilter extends CandidateFilter {
  excludePurchased: boolean;
  excludeSeen: boolean;
}

/**
 * Whether a forecast may recommend items its subject has already seen, and who decided it: the
 * request (`filter.excludeSeen`), the serving model (its model.json `scorer.excludeHistory`, with
 * the repeat share its training measured in `repeatPolicy`), or, without a model for the
 * dataset, the default (allowed).
 */
export interface RepeatPolicy {
  seenItems: 'EXCLUDED' | 'ALLOWED';
  source: 'MODEL' | 'REQUEST' | 'DEFAULT';
  repeatShare: number | null;
}

export interface ForecastRequest {
  subject: ForecastSubject;
  first: number;
  filter: ForecastFilter;
  explain: boolean;
  mode: ForecastMode;
  /** What the visitor is looking at: its item joins the model's input as the newest VIEW. */
  context: ForecastContext | null;
  /** How the slate is chosen from the scored items (exploration/policy.ts); default greedy. */
  policy?: ServingPolicy;
  /**
   * Whether the answer needs the visit's purchase intent (the query selects `purchaseIntent` or
   * `purchaseProbability`); false skips its statement and model call. Default true.
   */
  intent?: boolean;
  /** What `filter.excludeSeen` says and where it came from (stated in the answer). */
  repeatPolicy?: RepeatPolicy;
}

export interface ForecastItem {
  itemId: string;
  rank: number;
  score: number;
  /** Probability that the serving policy showed this item at this rank (1 when greedy). */
  propensity: number;
  /** Drawn from the exploration pool rather than the greedy slate. */
  explored: boolean;
  reasons: ForecastReason[] | null;
}

export interface CategoryShare {
  categoryId: string;
  probability: number;
}

export interface Forecast {
  id: string;
  /** The request's repeat policy (the resolver adds it; absent on forecasts read back). */
  repeatPolicy?: RepeatPolicy;
  modelVersion: string;
  mode: ForecastMode;
  /** Which path served it: the model, or which fallback (forecast/coldstart.ts). */
  strategy: ForecastStrategy;
  strategyDetail: string | null;
  /** The serving policy as stored with the forecast (exploration/policy.ts). */
  policy: PolicyLog;
  generatedAt: Date;
  basedOnEvents: number;
  items: ForecastItem[];
  /** Most likely first, at most MAX_CATEGORIES. */
  categories: CategoryShare[];
  /** Which forecaster produced `categories` (src/inference/category/), and its rule in words. */
  categoryStrategy: CategoryStrategy;
  categoryStrategyDetail: string | null;
  /** The intent model's probability when it has one, else the sequence model's purchase head. */
  purchaseProbability: number | null;
  /** The purchase-intent model's answer (intent/service.ts), or why there is none. */
  purchaseIntent: PurchaseIntent;
  executionProvider: string;
  timing: { queueMs: number; inferenceMs: number; retrievalMs: number; batchSize: number };
  /** The stored events the forecast used (oldest first); null for anonymous visitors. */
  events: SubjectEventRow[] | null;
}

export const POPULARITY_VERSION = 'popularity-baseline';
export const MAX_CATEGORIES = 50;
/** Counters of one ONNX graph's calls (each call is one merged batch). */
export interface ModelCallStats {
  calls: number;
  items: number;
  ms: number;
}

/**
 * The dataset of a forecast's subject, from its ids alone (they are namespaced `dataset:raw`,
 * db/events.ts datasetOf): the user's or the session's; for an anonymous visitor the context
 * item's (the newest event), else the newest event's item's, else the context category's; null
 * when nothing names one (the engine then takes its model's dataset).
 */
export function subjectDataset(
  subject: ForecastSubject,
  context: ForecastContext | null,
): string | null {
  if (subject.kind === 'user') return datasetOf(subject.userId);
  if (subject.kind === 'session') return datasetOf(subject.sessionId);
  const newest = [...subject.events].reverse().find((e) => e.itemId !== null)?.itemId;
  const id = context?.itemId ?? newest ?? context?.categoryId;
  return id == null ? null : datasetOf(id);
}
