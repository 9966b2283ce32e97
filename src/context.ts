// What every resolver receives: configuration, the database, and this request's DataLoaders.
import type { Config } from './config.js';
import type { Db, Queryable } from './db/client.js';
import type { ForecastLoader } from './loaders/forecast.js';
import type { TrendCache } from './evolution/trends.js';
import type { Loaders } from './loaders/index.js';
import type { ModelRegistry, RegistryLease } from './forecast/registry.js';
import type { ModelRollouts } from './rollout/rollouts.js';
import type { BatchGate } from './security/batch-gate.js';
import type { Principal } from './security/guard.js';
import type { KeyStore } from './security/keys.js';

export interface Context {
  config: Config;
  db: Db;
  loaders: Loaders;
  /** Who the request acts for (src/security/guard.ts); absent outside HTTP (in-process runs). */
  principal?: Principal;
  /** A batched request's gate: its operations run together or not at all (security/batch-gate.ts). */
  batch?: BatchGate;
  /** API key lookups, to forget after a key is created or revoked. */
  keys?: KeyStore;
  /** Trending items and categories, shared by the server's requests (cached for 30 s). */
  trends: TrendCache;
  /** Batches this request's interest forecasts; absent when no model/engine is configured. */
  forecasts?: ForecastLoader;
  /**
   * `ForecastFilter.excludeSeen` when a request omits it, for a subject of `dataset`: its
   * model's `scorer.excludeHistory` (false for a dataset without a model).
   */
  excludeSeenDefault?: (dataset: string | null) => boolean;
  /** Writes retrieval embeddings for changed items, inside `q`'s transaction (absent without a model). */
  embedItems?: (q: Queryable, ids: readonly string[]) => Promise<void>;
  /** The serving models (one per dataset) and their run-time rollout (src/rollout/); absent without a model. */
  models?: {
    registry: ModelRegistry;
    /** Absent when this server cannot switch models (built over a fixed engine). */
    rollouts?: ModelRollouts;
    /** This request's hold on the serving engines, released once the response is sent. */
    lease: RegistryLease;
  };
}
