// assemble: the answer of each forecast, for the model path and the fallbacks alike: the
// serving policy's slate from the ranked items (exploration/policy.ts), the items with their
// reasons when asked, and what served it; and the record stored in the impression log.
import { randomUUID } from 'node:crypto';
import type { ForecastRecord } from '../../db/forecasts.js';
import { drawSeed, GREEDY, serveSlate } from '../../exploration/policy.js';
import type { EncoderOutput, SequenceModel } from '../../inference/model.js';
import { NO_INTENT_MODEL } from '../../intent/service.js';
import {
  MAX_CATEGORIES,
  POPULARITY_VERSION,
  type CategoryShare,
  type Forecast,
} from '../forecast.js';
import type { ForecastJob, StageContext, ResolvedSubject } from './job.js';

/** What served a forecast: everything but its items, policy, ids and timing. */
type Head = Pick<
  Forecast,
  | 'modelVersion'
  | 'mode'
  | 'strategy'
  | 'strategyDetail'
  | 'basedOnEvents'
  | 'categories'
  | 'categoryStrategy'
  | 'categoryStrategyDetail'
  | 'purchaseProbability'
  | 'executionProvider'
>;

/**
 * Sets every job's `forecast`. `inferenceMs`: the model calls of the batch (model path; 0 for
 * the fallbacks). Purchase intent and queue time are the engine's to fill in.
 */
export function assemble(
  ctx: StageContext,
  jobs: readonly ForecastJob[],
  inferenceMs: number,
  batchSize: number,
): void {
  for (const job of jobs) {
    const model = job.path === 'model';
    const head = model ? modelHead(ctx, job) : fallbackHead(ctx, job);
    const policy = job.request.policy ?? GREEDY;
    const slate = serveSlate(job.ranked, job.request.first, policy, drawSeed(policy));
    job.forecast = {
      id: randomUUID(),
      ...head,
      policy: slate.log,
      generatedAt: new Date(),
      items: slate.slots.map((slot, rank) => {
        const it = job.ranked[slot.index] as ForecastJob['ranked'][number];
        return {
          itemId: it.id,
          rank: rank + 1,
          score: it.score,
          propensity: slot.propensity,
          explored: slot.explored,
          reasons: job.request.explain && job.reasons ? job.reasons(slot.index) : null,
        };
      }),
      purchaseIntent: NO_INTENT_MODEL,
      timing: {
        queueMs: 0, // the engine's
        inferenceMs: model ? inferenceMs : 0,
        retrievalMs: job.retrievalMs,
        batchSize,
      },
      events: (job.subject as ResolvedSubject).rows,
    };
  }
}

function modelHead(ctx: StageContext, job: ForecastJob): Head {
  const subject = job.subject as ResolvedSubject;
  const enc = job.encoded as EncoderOutput;
  // Served from the context item alone when no event of the subject's own is on a known item.
  const own = subject.contextEvent ? subject.events.slice(0, -1) : subject.events;
  const fromContext = !own.some((e) => ctx.model.knows(e.itemId));
  return {
    modelVersion: ctx.model.version,
    mode: 'MODEL',
    strategy: fromContext ? 'CONTEXT_ITEM_MODEL' : 'SEQUENCE_MODEL',
    strategyDetail: fromContext
      ? `the sequence model from the context item ${job.request.context?.itemId} alone`
      : null,
    // what the encoder saw: the newest maxLen events on items it knows
    basedOnEvents: Math.min(
      ctx.model.manifest.maxLen,
      subject.events.filter((e) => ctx.model.knows(e.itemId)).length,
    ),
    // replaced by the model's category forecaster where it ships one (stages/categories.ts)
    categories: topCategories(ctx.model, enc.categoryProbs),
    categoryStrategy: 'SEQUENCE_MODEL_HEAD',
    categoryStrategyDetail: null,
    purchaseProbability: enc.purchaseProbability,
    executionProvider: ctx.model.provider,
  };
}

function fallbackHead(ctx: StageContext, job: ForecastJob): Head {
  const subject = job.subject as ResolvedSubject;
  const ranking = job.fallback as NonNullable<ForecastJob['fallback']>;
  // A subject of a dataset without a model of its own (src/serving/registry.ts).
  const unserved = job.request.mode === 'MODEL' && subject.dataset !== ctx.model.manifest.dataset;
  return {
    modelVersion: POPULARITY_VERSION,
    mode: 'POPULARITY',
    strategy: ranking.strategy,
    strategyDetail: unserved
      ? `${ranking.detail}; no model serves dataset ${subject.dataset}`
      : ranking.detail,
    basedOnEvents: 0,
    categories: ranking.categories.slice(0, MAX_CATEGORIES),
    categoryStrategy: 'POPULARITY',
    categoryStrategyDetail: null,
    purchaseProbability: null,
    executionProvider: 'none',
  };
}

/**
 * The MAX_CATEGORIES most likely next categories, by insertion into a short sorted list (most
 * attributes fall below its last entry at once), not a sort of every attribute per forecast.
 * Ties keep the lower index first, as the stable sort did.
 */
function topCategories(model: SequenceModel, probs: Float32Array): CategoryShare[] {
  const top: number[] = [];
  for (let k = 1; k < probs.length; k++) {
    const p = probs[k] as number;
    if (top.length === MAX_CATEGORIES && p <= (probs[top[top.length - 1] as number] as number))
      continue;
    let at = top.length;
    while (at > 0 && (probs[top[at - 1] as number] as number) < p) at--;
    top.splice(at, 0, k);
    if (top.length > MAX_CATEGORIES) top.pop();
  }
  return top.map((k) => ({
    categoryId: model.attributeAt(k) as string,
    probability: probs[k] as number,
  }));
}

/** The forecast as the impression log stores it (db/forecasts.ts). */
export function toRecord(job: ForecastJob): ForecastRecord {
  const f = job.forecast as Forecast;
  const subject = job.subject as ResolvedSubject;
  return {
    id: f.id,
    mode: f.mode,
    modelVersion: f.modelVersion,
    userId: subject.userId,
    sessionId: subject.sessionId,
    basedOnEvents: f.basedOnEvents,
    items: f.items.map(({ itemId, rank, score, propensity, explored }) => ({
      itemId,
      rank,
      score,
      propensity,
      explored,
    })),
    policy: f.policy,
    categories: f.categories.slice(0, 10),
    purchaseProbability: f.purchaseProbability,
    purchaseIntent:
      f.purchaseIntent.probability === null
        ? null
        : { modelVersion: f.purchaseIntent.modelVersion, source: f.purchaseIntent.source },
    strategy: f.strategy,
    createdAt: f.generatedAt,
  };
}
