// One forecast on its way through the engine's stages (resolve → encode → retrieve → score →
// serve → assemble): a record per forecast that each stage fills in, and what every stage may
// read of the engine serving it.
import type { Db } from '../../db/client.js';
import type { PolicyCandidate } from '../../exploration/diversity.js';
import type { SubjectEventRow } from '../../db/forecasts.js';
import type { EncoderOutput, SequenceEvent, SequenceModel } from '../../inference/model.js';
import type { RetrievedItem } from '../../retrieval/candidates.js';
import type { ExactRetrieval } from '../../retrieval/exact.js';
import type { EmbeddingSlot } from '../../db/embedding-slots.js';
import { GREEDY, rankingLength } from '../../exploration/policy.js';
import type { ColdItemScorer, ColdPool } from '../cold-items.js';
import type { ServedRanking } from '../coldstart.js';
import type { Forecast, ForecastRequest, ModelCallStats } from '../forecast.js';
import type { PopularityRanking } from '../popularity.js';
import type { ForecastReason } from '../reasons.js';
import type { LiftLimits, RecentItems, ScoringTerms } from '../terms/index.js';

/** The forecast's subject as the database (or the request) describes it. */
export interface ResolvedSubject {
  dataset: string;
  /** What the model reads, oldest first; the last is the context item when `contextEvent`. */
  events: readonly SequenceEvent[];
  /** The stored events (oldest first); null for anonymous visitors. */
  rows: SubjectEventRow[] | null;
  userId: string | null;
  sessionId: string | null;
  profile: Record<string, unknown>;
  /** The last of `events` is the request's context item, not a stored or given event. */
  contextEvent: boolean;
}

/** An item the forecast may show, ranked: what the serving policy chooses the slate from. */
export type RankedItem = PolicyCandidate;

export interface ForecastJob {
  readonly request: ForecastRequest;
  readonly enqueuedAt: number;
  /** resolve: the subject, or why the request cannot be served (then no other stage runs). */
  subject: ResolvedSubject | null;
  error: Error | null;
  /** The model's stages (encode, retrieve, score), or the popularity and cold-start chain. */
  path: 'model' | 'fallback' | null;
  /** encode (model path): the encoder's output and the newest known items the terms read. */
  encoded: EncoderOutput | null;
  recent: RecentItems | null;
  /** retrieve (model path): nearest neighbours and lifted items, filters applied in the index. */
  candidates: RetrievedItem[];
  /** score (model path): the scorer's score of each candidate. */
  scores: Float32Array | null;
  /**
   * retrieve (model path, exact retrieval of a model with scorer.coldItems): the catalogue's
   * cold items and which pass the request's filter; score ranks them (forecast/cold-items.ts).
   */
  cold: { pool: ColdPool; passing: Uint8Array } | null;
  /** serve: the servable items, best first, at most `rankedCount`. */
  ranked: RankedItem[];
  /** serve: why `ranked[k]` is there (asked only for the items shown, and only to explain). */
  reasons: ((k: number) => ForecastReason[]) | null;
  /** serve (fallback path): which source ranked them (forecast/coldstart.ts). */
  fallback: Omit<ServedRanking, 'items'> | null;
  retrievalMs: number;
  /** assemble: the answer. */
  forecast: Forecast | null;
}

export function newJob(request: ForecastRequest, enqueuedAt: number): ForecastJob {
  return {
    request,
    enqueuedAt,
    subject: null,
    error: null,
    path: null,
    encoded: null,
    recent: null,
    candidates: [],
    scores: null,
    cold: null,
    ranked: [],
    reasons: null,
    fallback: null,
    retrievalMs: 0,
    forecast: null,
  };
}

/** What the stages read of the engine that runs them. */
export interface StageContext {
  db: Db;
  model: SequenceModel;
  terms: ScoringTerms;
  popularity: PopularityRanking;
  embeddingSlot: EmbeddingSlot;
  /**
   * `parallel`: statements a batch's candidate query is split over (default 1);
   * `cooccurrenceNeighbors`: stored co-occurrence neighbours per recent item (null or absent =
   * all).
   */
  retrieval: LiftLimits & {
    candidates: number;
    efSearch: number;
    parallel?: number;
    /** retrieval/exact.ts: the largest catalogue scanned exactly (0 = never; absent = default). */
    exactMaxItems?: number;
  };
  /**
   * Exact retrieval in the gateway (retrieval/exact.ts) and the primary it checks the catalogue
   * on; null = the index always.
   */
  exact: { retrieval: ExactRetrieval; db: Db } | null;
  /** Scores for items the model never trained on (forecast/cold-items.ts); null = the scorer's. */
  cold: ColdItemScorer | null;
  /**
   * exactTop: the exact retrieval's ONNX calls (retrieval/exact.ts), one per retrieval group;
   * coldItems: the cold-item scores' inner products (forecast/cold-items.ts), one or two per
   * batch with cold items (items: forecasts).
   */
  modelCalls: {
    encoder: ModelCallStats;
    scorer: ModelCallStats;
    exactTop: ModelCallStats;
    coldItems: ModelCallStats;
  };
}

/** How many ranked items the request's serving policy chooses its slate from. */
export function rankedCount(request: ForecastRequest): number {
  return rankingLength(request.first, request.policy ?? GREEDY);
}

/**
 * The items the request's filter leaves out because of the subject's own events (already
 * purchased, or seen): one rule for the model's retrieval and the fallbacks alike.
 */
export function exclusions(job: ForecastJob): string[] {
  const f = job.request.filter;
  const events = (job.subject as ResolvedSubject).events;
  if (!f.excludePurchased && !f.excludeSeen) return [];
  return unique(
    events.flatMap((e) =>
      e.itemId !== null && (f.excludeSeen || (f.excludePurchased && e.type === 'PURCHASE'))
        ? [e.itemId]
        : [],
    ),
  );
}

/** Runs one model call, counting it in `stats`. */
export async function timed<T>(
  stats: ModelCallStats,
  items: number,
  call: () => Promise<T>,
): Promise<{ value: T; ms: number }> {
  const t0 = performance.now();
  const value = await call();
  const ms = performance.now() - t0;
  stats.calls += 1;
  stats.items += items;
  stats.ms += ms;
  return { value, ms };
}

export function unique<T>(xs: readonly T[]): T[] {
  return [...new Set(xs)];
}
