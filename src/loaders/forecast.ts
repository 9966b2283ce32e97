// Per-request forecast loader: every interestForecast field resolved in one GraphQL request
// (e.g. 50 users in a list) becomes one batch per engine (one per dataset with a model,
// src/serving/registry.ts), hence one encoder call each; the engines' batchers then merge
// batches across concurrent requests.
import DataLoader from 'dataloader';
import type { ForecastEngine } from '../forecast/engine.js';
import type { Forecast, ForecastRequest } from '../forecast/forecast.js';

export type ForecastLoader = DataLoader<ForecastRequest, Forecast, string>;

/** `engine`: a serving engine, or a request's lease on the serving engines (registry.ts). */
export function createForecastLoader(engine: Pick<ForecastEngine, 'forecast'>): ForecastLoader {
  return new DataLoader((requests) => engine.forecast(requests), {
    cacheKeyFn: (r) => JSON.stringify(r),
  });
}
