// encode: one encoder call for the whole batch of model forecasts → each one's user state,
// next-category distribution and attention over its events; and the newest known items the
// scorer's terms read.
import { timed, type ForecastJob, type StageContext, type ResolvedSubject } from './job.js';

/** Returns the call's milliseconds (every forecast of the batch reports them). */
export async function encode(ctx: StageContext, jobs: readonly ForecastJob[]): Promise<number> {
  const events = jobs.map((j) => (j.subject as ResolvedSubject).events);
  const { value, ms } = await timed(ctx.modelCalls.encoder, jobs.length, () =>
    ctx.model.encode(events),
  );
  jobs.forEach((job, i) => {
    job.encoded = value[i] ?? null;
    job.recent = ctx.terms.recent(events[i] as ResolvedSubject['events']);
  });
  return ms;
}
