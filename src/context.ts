// What every resolver receives: configuration, the database, and this request's DataLoaders.
import type { Config } from './config.js';
import type { Db, Queryable } from './db/client.js';
import type { ForecastLoader } from './loaders/forecast.js';
import type { TrendCache } from './evolution/trends.js';
import type { Loaders } from './loaders/index.js';

export interface Context {
  config: Config;
  db: Db;
  loaders: Loaders;
  /** Trending items and categories, shared by the server's requests (cached for 30 s). */
  trends: TrendCache;
  /** Batches this request's interest forecasts; absent when no model/engine is configured. */
  forecasts?: ForecastLoader;
  /** `ForecastFilter.excludeSeen` when a request omits it: the model's `scorer.excludeHistory`. */
  excludeSeenDefault?: boolean;
  /** Writes retrieval embeddings for changed items, inside `q`'s transaction (absent without a model). */
  embedItems?: (q: Queryable, ids: readonly string[]) => Promise<void>;
}
