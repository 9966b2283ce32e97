// categories: the next-category distribution of every forecast whose model ships a category
// forecaster (src/inference/category/), from the subject's events, on the model path and the
// fallbacks alike: the forecaster reads any event on an item whose category it knows, which
// the item model may not (DIGINETICA's items seen only after training).
import { MAX_CATEGORIES, type Forecast } from '../forecast.js';
import type { ForecastJob, ResolvedSubject, StageContext } from './job.js';

export async function forecastCategories(
  ctx: StageContext,
  jobs: readonly ForecastJob[],
): Promise<void> {
  const forecaster = ctx.model.categoryForecaster;
  if (!forecaster) return;
  await Promise.all(
    jobs.map(async (job) => {
      const subject = job.subject as ResolvedSubject;
      if (job.request.mode !== 'MODEL' || subject.dataset !== ctx.model.manifest.dataset) return;
      const probs = await forecaster.distribution(subject.events);
      if (!probs) return;
      const f = job.forecast as Forecast;
      f.categories = forecaster.top(probs, MAX_CATEGORIES);
      f.categoryStrategy = forecaster.kind;
      f.categoryStrategyDetail = forecaster.detail;
    }),
  );
}
