// categories: the next-category distribution of every forecast whose model ships a category
// forecaster (src/inference/category/), from the subject's events, on the model path and the
// fallbacks alike: the forecaster reads any event on an item whose category it knows, which
// the item model may not (DIGINETICA's items seen only after training). One call for the
// batch: catnet runs once per history length, not once per forecast.
import { MAX_CATEGORIES, type Forecast } from '../forecast.js';
import type { ForecastJob, ResolvedSubject, StageContext } from './job.js';

export async function forecastCategories(
  ctx: StageContext,
  jobs: readonly ForecastJob[],
): Promise<void> {
  const forecaster = ctx.model.categoryForecaster;
  if (!forecaster) return;
  const asked = jobs.filter(
    (job) =>
      job.request.mode === 'MODEL' &&
      (job.subject as ResolvedSubject).dataset === ctx.model.manifest.dataset,
  );
  const distributions = await forecaster.distributions(
    asked.map((job) => (job.subject as ResolvedSubject).events),
  );
  asked.forEach((job, k) => {
    const probs = distributions[k];
    if (!probs) return;
    const f = job.forecast as Forecast;
    f.categories = forecaster.top(probs, MAX_CATEGORIES);
    f.categoryStrategy = forecaster.kind;
    f.categoryStrategyDetail = forecaster.detail;
  });
}
