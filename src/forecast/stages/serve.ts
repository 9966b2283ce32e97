// serve: each forecast's servable items, ranked: for model forecasts the scored candidates that
// pass the filters (checked in the database for lifted items that rank), best first; for the
// others the popularity and cold-start chain (forecast/coldstart.ts). The serving policy then
// chooses the slate from these (assemble.ts).
import type { EncoderOutput } from '../../inference/model.js';
import { servedTop, type RetrievedItem } from '../../retrieval/candidates.js';
import { rankingSources, serveFromSources } from '../coldstart.js';
import { explainItem } from '../explain.js';
import type { ExplainedEvent, ForecastReason } from '../reasons.js';
import type { RecentItems } from '../terms/index.js';
import {
  rankedCount,
  exclusions,
  type ForecastJob,
  type StageContext,
  type ResolvedSubject,
} from './job.js';
import type { RetrievalGroup } from './retrieve.js';

/** Model path: sets `ranked` from `candidates` and `scores`, group by group. */
export async function serveScored(
  ctx: StageContext,
  groups: readonly RetrievalGroup[],
): Promise<void> {
  await Promise.all(
    groups.map(async ({ members, filter, options, ranked }) => {
      const t = performance.now();
      const tops = await servedTop(
        ctx.db,
        members.map((job) => job.candidates),
        members.map((job) => job.scores as Float32Array),
        ranked,
        filter,
        options,
      );
      const ms = performance.now() - t;
      members.forEach((job, k) => {
        const scores = job.scores as Float32Array;
        const top = tops[k] as number[];
        job.ranked = top.map((i) => {
          const c = job.candidates[i] as RetrievedItem;
          return {
            id: c.id,
            score: scores[i] as number,
            categoryIds: c.categoryIds,
            embedding: c.embedding,
          };
        });
        if (job.request.explain) {
          const explain = explainer(ctx, job);
          job.reasons = (n) => explain(job.candidates[top[n] as number] as RetrievedItem);
        }
        job.retrievalMs += ms;
      });
    }),
  );
}

/** Explains a model forecast's items (explain.ts), reading the subject's events once. */
function explainer(ctx: StageContext, job: ForecastJob): (c: RetrievedItem) => ForecastReason[] {
  let events: ExplainedEvent[] | null = null;
  return (c) => {
    const subject = job.subject as ResolvedSubject;
    const enc = job.encoded as EncoderOutput;
    // the events as the explanations quote them: stored ones with their ids
    events ??= subject.events.map((e, j) => ({ ...e, eventId: subject.rows?.[j]?.id }));
    return explainItem(
      ctx.model,
      ctx.terms,
      c,
      events,
      job.recent as RecentItems,
      enc.eventWeights,
      enc.categoryProbs,
    );
  };
}

/**
 * Fallback path (subjects the model does not serve): the popularity baseline (`mode:
 * POPULARITY`), or, for a model forecast of a shopper the model cannot read, the cold-start
 * chain (context category, profile segment, dataset, catalogue, global). Sets `ranked`,
 * `fallback` and `retrievalMs`.
 */
export async function serveFallbacks(
  ctx: StageContext,
  jobs: readonly ForecastJob[],
): Promise<void> {
  await Promise.all(
    jobs.map(async (job) => {
      const t0 = performance.now();
      const subject = job.subject as ResolvedSubject;
      const { request } = job;
      const { items, ...fallback } = await serveFromSources(
        rankingSources(
          ctx.popularity,
          subject.dataset,
          subject.profile,
          request.context,
          request.mode === 'MODEL',
        ),
        request.filter,
        new Set(exclusions(job)),
        rankedCount(request),
      );
      job.fallback = fallback;
      job.ranked = items.map(({ item: it }) => ({
        id: it.id,
        score: it.count,
        categoryIds: it.categoryIds,
        embedding: null,
      }));
      job.reasons = (n) => {
        const { item: it, source } = items[n] as (typeof items)[number];
        return [
          {
            kind: 'POPULAR',
            message: `${source.detail}: ${it.count} interactions with this item`,
            weight: it.count / Math.max(1, source.snapshot.items[0]?.count ?? 1),
            eventIndex: null,
            eventId: null,
            categoryId: null,
          },
        ];
      };
      job.retrievalMs = performance.now() - t0;
    }),
  );
}
