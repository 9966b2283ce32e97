// What every resolver receives: configuration, the database, and this request's DataLoaders.
import type { Config } from './config.js';
import type { Db } from './db/client.js';
import type { ReadRouter } from './db/read-routing.js';
import type { ForecastLoader } from './loaders/forecast.js';
import type { TrendCache } from './evolution/trends.js';
import type { Loaders } from './loaders/index.js';
import type { ModelRegistry, RegistryLease } from './serving/registry.js';
import type { ModelRollouts } from './serving/rollouts.js';
import type { BatchGate } from './security/batch-gate.js';
import type { Principal } from './security/guard.js';
import type { KeyStore } from './security/keys.js';

export interface Context {
  config: Config;
  db: Db;
  /** Read routing to a replica (READ_DATABASE_URL): writes note their shoppers' positions. */
  reads?: ReadRouter;
  loaders: Loaders;
  /** Who the request acts for (src/security/guard.ts); absent outside HTTP (in-process runs). */
  principal?: Principal;
  /** A batched request's gate: its operations run together or not at all (security/batch-gate.ts). */
  batch?: BatchGate;
  /** API key lookups, to forget after a key is created or revoked. */
  keys?: KeyStore;
  /** Trending items and categories, shared by the server's requests (cached for 30 s). */
  trends: TrendCache;
  /**
   * This request's view of the serving models (src/serving/); absent when the gateway serves
   * none (forecasts then answer UNAVAILABLE).
   */
  serving?: RequestServing;
}

/** The serving models as one request sees them. */
export interface RequestServing {
  /** The models, one per dataset. */
  registry: ModelRegistry;
  /** Their run-time rollout; absent when this server cannot switch models (a fixed engine). */
  rollouts?: ModelRollouts;
  /**
   * This request's hold on the engines serving when it started (released once the response is
   * sent): forecasts, catalogue embeddings and each dataset's `excludeSeen` default go through it.
   */
  lease: RegistryLease;
  /** Batches this request's interest forecasts into the engines' batchers. */
  forecasts: ForecastLoader;
}
