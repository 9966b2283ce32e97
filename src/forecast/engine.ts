// The forecast pipeline over a merged batch of requests, as stages over one record per
// forecast (stages/): resolve the subjects → encode → retrieve → score → serve → assemble,
// then purchase intent and the impression log. Every stage handles the whole batch at once:
// 50 forecasts cost one encoder call, one scorer call and a constant number of SQL statements.
import { isConnectionError, type Db } from '../db/client.js';
import type { ReadRouter } from '../db/read-routing.js';
import { insertForecasts } from '../db/forecasts.js';
import type { SequenceModel } from '../inference/model.js';
import type { IntentModel } from '../intent/model.js';
import {
  intentFailed,
  purchaseIntents,
  type IntentSubject,
  type PurchaseIntent,
  NOT_SELECTED,
} from '../intent/service.js';
import type { EmbeddingSlot } from '../db/embedding-slots.js';
import { ForecastBatcher, type BatcherOptions } from './batcher.js';
import type { Forecast, ForecastRequest, ModelCallStats } from './forecast.js';
import { PopularityRanking } from './popularity.js';
import { bindColdItems } from './cold-items.js';
import { assemble, toRecord } from './stages/assemble.js';
import { nameReasons } from './stages/name.js';
import { forecastCategories } from './stages/categories.js';
import { encode } from './stages/encode.js';
import {
  newJob,
  timed,
  type ForecastJob,
  type StageContext,
  type ResolvedSubject,
} from './stages/job.js';
import { resolve } from './stages/resolve.js';
import { retrieve } from './stages/retrieve.js';
import { DEFAULT_EXACT_MAX_ITEMS } from '../config.js';
import { ExactRetrieval } from '../retrieval/exact.js';
import { score } from './stages/score.js';
import { serveFallbacks, serveScored } from './stages/serve.js';
import { bindTerms, type ScoringTerms } from './terms/index.js';

/** The timed stages of a batch, in order (docs/forecasts.md). */
export const STAGES = [
  'resolve',
  'encode',
  'retrieve',
  'score',
  'serve',
  'fallbacks',
  'assemble',
  'categories',
  'names',
  'intent',
  'record',
] as const;
export type StageName = (typeof STAGES)[number];

interface Queued {
  request: ForecastRequest;
  enqueuedAt: number;
}

export interface EngineOptions {
  batching: BatcherOptions;
  /** Retrieval settings (stages/job.ts: StageContext.retrieval). */
  retrieval: StageContext['retrieval'];
  /** The session-level purchase-intent model (models/intent); null or absent = none. */
  intent?: IntentModel | null;
  /** The item-embedding columns the model's vectors are in (db/embedding-slots.ts; default a). */
  embeddingSlot?: EmbeddingSlot;
  /** Where a batch's reads go (READ_DATABASE_URL); absent = all on `db`. */
  reads?: ReadRouter | null;
}

/**
 * Serves forecasts in merged batches. The batcher merges the DataLoader batches of concurrent
 * requests (dynamic batching: max batch size, max queue delay, bounded queue); each merged
 * batch then costs one encoder call, one scorer call, one retrieval statement per distinct
 * filter and a constant number of other statements, however many requests it came from.
 */
export class ForecastEngine {
  readonly batcher: ForecastBatcher<Queued, Forecast | Error>;
  readonly modelCalls: StageContext['modelCalls'] = {
    encoder: { calls: 0, items: 0, ms: 0 },
    scorer: { calls: 0, items: 0, ms: 0 },
    exactTop: { calls: 0, items: 0, ms: 0 },
    coldItems: { calls: 0, items: 0, ms: 0 },
  };
  /**
   * Wall time of each stage of the batches (calls = batches that ran it, items = their
   * forecasts): where a forecast's time goes, in /metrics and `bench/quick.ts --stages`. The
   * model path's stages and the fallbacks run side by side, as do names and purchase intent.
   */
  readonly stageTimes: Record<StageName, ModelCallStats> = Object.fromEntries(
    STAGES.map((s) => [s, { calls: 0, items: 0, ms: 0 }]),
  ) as Record<StageName, ModelCallStats>;
  readonly popularity: PopularityRanking;
  /** Where the model's item vectors are (db/embedding-slots.ts). */
  readonly embeddingSlot: EmbeddingSlot;
  /** The scorer's terms (src/forecast/terms/), bound to the model. */
  readonly terms: ScoringTerms;
  private readonly stages: StageContext;
  /** Exact retrieval in the gateway for small catalogues (retrieval/exact.ts); null = off. */
  readonly exact: ExactRetrieval | null;

  constructor(
    private readonly db: Db,
    readonly model: SequenceModel,
    private readonly options: EngineOptions,
  ) {
    this.batcher = new ForecastBatcher((batch) => this.run(batch), options.batching);
    this.popularity = new PopularityRanking(db);
    this.embeddingSlot = options.embeddingSlot ?? 'a';
    this.terms = bindTerms(model);
    const exactMax = options.retrieval.exactMaxItems ?? DEFAULT_EXACT_MAX_ITEMS;
    this.exact = exactMax > 0 ? new ExactRetrieval(exactMax, model, model.manifest.dim) : null;
    this.stages = {
      db,
      model,
      terms: this.terms,
      popularity: this.popularity,
      embeddingSlot: this.embeddingSlot,
      retrieval: options.retrieval,
      exact: this.exact && { retrieval: this.exact, db },
      cold: bindColdItems(model),
      modelCalls: this.modelCalls,
    };
  }

  /**
   * Queues a batch of requests; one result per request, an Error in place of a request that
   * failed on its input. Rejects with QueueFullError when the queue cannot take them.
   */
  forecast(requests: readonly ForecastRequest[]): Promise<(Forecast | Error)[]> {
    const enqueuedAt = performance.now();
    return this.batcher.submit(requests.map((request) => ({ request, enqueuedAt })));
  }

  private async run(batch: readonly Queued[]): Promise<(Forecast | Error)[]> {
    const started = performance.now();
    const router = this.options.reads;
    let jobs: ForecastJob[];
    if (!router) jobs = await this.compute(batch, this.db, started);
    else {
      const route = await router.route(subjectsOf(batch));
      try {
        jobs = await this.compute(batch, route.db, started);
      } catch (err) {
        // The replica went away under the batch: the primary answers it instead.
        if (route.target !== 'replica' || !isConnectionError(err)) throw err;
        router.replicaFailed((err as Error).message);
        jobs = await this.compute(batch, this.db, started);
      }
    }
    const served = jobs.filter((j) => j.subject !== null);
    await this.timed('record', served.length, () => insertForecasts(this.db, served.map(toRecord)));
    return jobs.map((j) => j.error ?? (j.forecast as Forecast));
  }

  /** Runs one stage of a batch of `items` forecasts, counting it in stageTimes (none: not run). */
  private async timed<T>(stage: StageName, items: number, run: () => Promise<T> | T): Promise<T> {
    if (items === 0) return run();
    return (await timed(this.stageTimes[stage], items, async () => run())).value;
  }

  /** The batch's forecasts, every read on `reads` (the primary, or a caught-up replica). */
  private async compute(
    batch: readonly Queued[],
    reads: Db,
    started: number,
  ): Promise<ForecastJob[]> {
    const jobs = batch.map((q) => newJob(q.request, q.enqueuedAt));
    const stages = reads === this.db ? this.stages : { ...this.stages, db: reads };
    await this.timed('resolve', jobs.length, () => resolve(reads, this.model, jobs));
    const served = jobs.filter((j) => j.subject !== null);
    for (const job of served) job.path = this.servedByModel(job) ? 'model' : 'fallback';
    const fallbacks = served.filter((j) => j.path === 'fallback');
    const [inferenceMs] = await Promise.all([
      this.modelPath(
        stages,
        served.filter((j) => j.path === 'model'),
      ),
      this.timed('fallbacks', fallbacks.length, () => serveFallbacks(stages, fallbacks)),
    ]);
    await this.timed('assemble', served.length, () =>
      assemble(stages, served, inferenceMs, batch.length),
    );
    await this.timed('categories', served.length, () => forecastCategories(stages, served));
    await Promise.all([
      this.timed('names', served.length, () => nameReasons(reads, served)),
      this.timed('intent', served.length, () => this.addPurchaseIntent(reads, served)),
    ]);
    for (const job of served) (job.forecast as Forecast).timing.queueMs = started - job.enqueuedAt;
    return jobs;
  }

  /** encode → retrieve → score → serve; the model calls' milliseconds. */
  private async modelPath(stages: StageContext, jobs: readonly ForecastJob[]): Promise<number> {
    if (jobs.length === 0) return 0;
    const n = jobs.length;
    const encodeMs = await this.timed('encode', n, () => encode(stages, jobs));
    const groups = await this.timed('retrieve', n, () => retrieve(stages, jobs));
    const scoreMs = await this.timed('score', n, () => score(stages, jobs));
    await this.timed('serve', n, () => serveScored(stages, groups));
    return encodeMs + scoreMs;
  }

  /** A model forecast of a subject of the model's dataset with an event the model knows. */
  private servedByModel(job: ForecastJob): boolean {
    const subject = job.subject as ResolvedSubject;
    return (
      job.request.mode === 'MODEL' &&
      subject.dataset === this.model.manifest.dataset &&
      subject.events.some((e) => this.model.knows(e.itemId))
    );
  }

  /**
   * The purchase intent of every forecast that needs it (ForecastRequest.intent): one statement
   * and one intent-model call per batch, none when no forecast of the batch needs it.
   */
  private async addPurchaseIntent(reads: Db, all: readonly ForecastJob[]): Promise<void> {
    for (const job of all) {
      if (job.request.intent === false) (job.forecast as Forecast).purchaseIntent = NOT_SELECTED;
    }
    const jobs = all.filter((job) => job.request.intent !== false);
    if (jobs.length === 0) return;
    const subjects = jobs.map(({ request }): IntentSubject => {
      const subject = request.subject;
      if (subject.kind === 'anonymous') return { kind: 'anonymous', pages: subject.pages ?? [] };
      return subject.kind === 'session' ? subject : { kind: 'user' };
    });
    // Intent is an extra: when its statement or model fails, the forecasts are still served.
    const intents = await purchaseIntents(
      reads,
      this.options.intent ?? null,
      subjects,
      new Date(),
    ).catch((err: unknown) => intentFailed(err, subjects.length));
    jobs.forEach((job, k) => {
      const f = job.forecast as Forecast;
      const intent = intents[k] as PurchaseIntent;
      f.purchaseIntent = intent;
      if (intent.probability !== null) f.purchaseProbability = intent.probability;
    });
  }

  /** Refuses new forecasts and resolves once those accepted are answered (shutdown, retirement). */
  async close(): Promise<void> {
    await this.batcher.close();
    await this.exact?.release();
  }
}

/** The shoppers whose histories a batch reads, as subject_writes names them. */
function subjectsOf(batch: readonly Queued[]): string[] {
  const subjects = new Set<string>();
  for (const { request } of batch) {
    const s = request.subject;
    if (s.kind === 'user') subjects.add(`user:${s.userId}`);
    else if (s.kind === 'session') subjects.add(`session:${s.sessionId}`);
  }
  return [...subjects];
}
