// score: one scorer call for the whole batch: every forecast's candidates, with the inputs its
// terms add (src/forecast/terms/).
import type { EncoderOutput } from '../../inference/model.js';
import type { RecentItems } from '../terms/index.js';
import { timed, type ForecastJob, type StageContext } from './job.js';

/** Returns the call's milliseconds (every forecast of the batch reports them). */
export async function score(ctx: StageContext, jobs: readonly ForecastJob[]): Promise<number> {
  const recent = jobs.map((j) => j.recent as RecentItems);
  const { value, ms } = await timed(ctx.modelCalls.scorer, jobs.length, () =>
    ctx.model.score(
      jobs.map((job) => {
        const out = job.encoded as EncoderOutput;
        return {
          userState: out.userState,
          categoryProbs: out.categoryProbs,
          candidates: job.candidates.map((c) => ({
            itemId: c.id,
            embedding: c.embedding,
            attributeIds: c.categoryIds,
            index: c.modelIndex,
          })),
        };
      }),
      (candidates, width) => ctx.terms.feeds(recent, candidates, width),
    ),
  );
  jobs.forEach((job, i) => (job.scores = value[i] ?? null));
  return ms;
}
