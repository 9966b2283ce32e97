// Entry point: configuration → database → migrations → (sample import into an empty
// database) → models (one per dataset) and their item embeddings → HTTP server. With
// GATEWAY_WORKERS > 1 the primary process does everything up to the embeddings once, then
// forks that many workers, each a whole gateway on the same port (src/cluster.ts).
import cluster from 'node:cluster';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { clusterCounters, runPrimary } from './cluster.js';
import { engineCounters } from './metrics/counters.js';
import { ConfigError, loadConfig, type Config } from './config.js';
import type { Db } from './db/client.js';
import { openDb } from './db/index.js';
import { migrate } from './db/migrate.js';
import { importSampleIfEmpty } from './import/sample.js';
import { createProgress } from './import/progress.js';
import { ForecastEngine } from './forecast/engine.js';
import { ModelRegistry } from './forecast/registry.js';
import { withTerms } from './forecast/terms/index.js';
import { readManifest } from './inference/manifest.js';
import { Model } from './inference/model.js';
import { IntentModel } from './intent/model.js';
import { retrievalSettings } from './retrieval/candidates.js';
import {
  mismatchedEmbeddingColumns,
  slotHolding,
  syncItemEmbeddings,
} from './retrieval/embeddings.js';
import type { EmbeddingSlot } from './retrieval/slots.js';
import { ModelRollouts } from './rollout/rollouts.js';
import { buildServer } from './server.js';
import { gracefulShutdown, type Readiness } from './shutdown.js';

/**
 * Loads a model directory on the configured execution provider (at start-up and rollouts),
 * its scoring terms checked.
 */
function openModel(dir: string, config: Config): Promise<Model> {
  return withTerms(
    Model.load(dir, config.inference.provider, config.inference.threads, {
      worker: config.inference.worker,
    }),
  );
}

/** A model loaded at start-up and the embedding slot its item vectors are in. */
interface LoadedModel {
  model: Model;
  directory: string;
  slot: EmbeddingSlot;
}

/**
 * The model directories that hold a model, each with its dataset; a directory without
 * model.json is skipped with a line (so that the data API still starts on a bare checkout, and
 * a directory whose model is still being trained joins at the next start). Two models of one
 * dataset are refused.
 */
async function modelDirectories(config: Config): Promise<{ dir: string; dataset: string }[]> {
  const found: { dir: string; dataset: string }[] = [];
  for (const dir of config.modelDirs) {
    if (!existsSync(path.join(dir, 'model.json'))) {
      console.error(`no model in ${dir} (model.json missing): its dataset is served by fallbacks`);
      continue;
    }
    const { dataset } = await readManifest(dir);
    const twin = found.find((f) => f.dataset === dataset);
    if (twin) {
      throw new ConfigError(
        `invalid configuration:\n  MODEL_DIRS: ${twin.dir} and ${dir} are both models of dataset ` +
          `${dataset}: list one model directory per dataset (roll a new one out with rolloutModel)`,
      );
    }
    found.push({ dir, dataset });
  }
  return found;
}

/**
 * Loads the models of MODEL_DIRS and writes each one's item embeddings where they are missing
 * or stale, for its own dataset's items, in the slot that already holds its version (else slot
 * a): a restart after a rollout finds them where the rollout wrote them. Empty when no
 * directory holds a model (forecasts then answer UNAVAILABLE).
 */
async function loadModels(db: Db, config: Config): Promise<LoadedModel[]> {
  const loaded: LoadedModel[] = [];
  try {
    for (const { dir } of await modelDirectories(config)) {
      const model = await openModel(dir, config);
      console.error(
        `model ${model.version} (${model.manifest.dataset}) on ONNX Runtime ${model.provider.toUpperCase()}` +
          (model.providerNote ? ` (${model.providerNote})` : ''),
      );
      // Both slots' columns were created with EMBEDDING_DIM (migrations 001, 016).
      const wrong = await mismatchedEmbeddingColumns(db, model.manifest.dim);
      if (wrong.length > 0) {
        await model.release();
        throw new ConfigError(
          `model ${model.version} has ${model.manifest.dim}-dimensional embeddings but ` +
            wrong.map((c) => `items.${c.column} is vector(${c.dim})`).join(', ') +
            `: use a model of that dimension, or a new database created with EMBEDDING_DIM=${model.manifest.dim}`,
        );
      }
      const slot = await slotHolding(db, model);
      loaded.push({ model, directory: dir, slot });
      const synced = await syncItemEmbeddings(db, model, { slot });
      if (synced.total > 0) {
        console.error(
          `${model.manifest.dataset} item embeddings written (${slot === 'a' ? 'embedding' : 'embedding_b'}): ` +
            `${synced.learned} learned, ${synced.content} from the content tower`,
        );
      }
    }
  } catch (err) {
    await Promise.all(loaded.map((l) => l.model.release()));
    throw err;
  }
  return loaded;
}

/** The purchase-intent model, or null (and a line saying so) when its directory has none. */
async function loadIntentModel(config: Config): Promise<IntentModel | null> {
  if (!existsSync(path.join(config.intentModelDir, 'intent.json'))) {
    console.error(`no purchase-intent model in ${config.intentModelDir}: purchaseIntent is null`);
    return null;
  }
  const intent = await IntentModel.load(config.intentModelDir, config.inference.provider);
  console.error(`purchase-intent model ${intent.version} on ${intent.provider.toUpperCase()}`);
  return intent;
}

/**
 * The models (loadModels), the registry serving them (one per dataset) and the run-time
 * rollouts that switch them (src/rollout/); null without any model.
 */
async function startForecasting(
  db: Db,
  config: Config,
): Promise<{
  registry: ModelRegistry;
  rollouts: ModelRollouts;
  close: () => Promise<void>;
} | null> {
  const loaded = await loadModels(db, config);
  if (loaded.length === 0) return null;
  const intent = await loadIntentModel(config);
  const createEngine = (m: Model, embeddingSlot: EmbeddingSlot) =>
    new ForecastEngine(db, m, {
      batching: config.inference,
      retrieval: config.retrieval,
      intent,
      embeddingSlot,
    });
  const registry = new ModelRegistry(
    loaded.map(({ model, directory, slot }) => ({
      engine: createEngine(model, slot),
      directory,
      loadedAt: new Date(),
    })),
  );
  const rollouts = new ModelRollouts({
    db,
    registry,
    createEngine,
    load: (dir) => openModel(dir, config),
    workers: config.workers,
  });
  return {
    registry,
    rollouts,
    close: async () => {
      for (const serving of registry.loaded()) {
        serving.engine.close();
        await serving.engine.model.release();
      }
      await intent?.release();
    },
  };
}

/** The database, migrated and (AUTO_IMPORT) holding the sample; idempotent. */
async function openPrepared(config: Config): Promise<Db> {
  // Candidate queries' settings for every connection: no transaction per retrieval.
  const db = await openDb({ ...config, settings: retrievalSettings(config.retrieval.efSearch) });
  const where =
    db.kind === 'postgres' ? 'PostgreSQL (DATABASE_URL)' : `PGlite at ${config.dataDir}`;
  console.error(`storage: ${where}`);
  const { applied } = await migrate(db, { EMBEDDING_DIM: config.embeddingDim });
  if (applied.length) console.error(`migrations applied: ${applied.join(', ')}`);
  if (config.autoImport) {
    const imported = await importSampleIfEmpty(db, config.sample, createProgress(), (m) =>
      console.error(m),
    );
    if (imported) console.error(`imported the bundled sample in ${imported.seconds.toFixed(1)} s`);
  }
  return db;
}

/** The cluster's primary: prepares the database once, then runs the workers. */
async function primary(config: Config): Promise<void> {
  const db = await openPrepared(config);
  try {
    await Promise.all((await loadModels(db, config)).map((l) => l.model.release()));
  } finally {
    await db.close();
  }
  runPrimary(config.workers, (line) => console.error(line), config.shutdownTimeoutMs);
}

async function main(): Promise<void> {
  const config = loadConfig(process.env);
  if (config.workers > 1 && cluster.isPrimary) return primary(config);
  // A worker finds the database prepared: every step below is a no-op read for it.
  const db = await openPrepared(config);
  const forecasting = await startForecasting(db, config);
  const readiness: Readiness = { draining: false };
  const app = await buildServer({
    config,
    db,
    readiness,
    ...(forecasting && {
      registry: forecasting.registry,
      rollouts: forecasting.rollouts,
      counters: clusterCounters(() =>
        engineCounters(...forecasting.registry.serving().map((s) => s.engine)),
      ),
    }),
  });
  // Once only: a cluster worker gets both the terminal's SIGINT and the primary's SIGTERM.
  // Further signals are ignored; SHUTDOWN_TIMEOUT_MS bounds the wait.
  let stopping = false;
  const shutdown = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    console.error(`${signal} received`);
    gracefulShutdown(app, [() => forecasting?.close(), () => db.close()], {
      readiness,
      timeoutMs: config.shutdownTimeoutMs,
      log: (line) => console.error(line),
    }).then(
      (outcome) => process.exit(outcome === 'closed' ? 0 : 1),
      (err: unknown) => {
        console.error(err);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);
  const address = await app.listen({ port: config.port, host: config.host });
  console.error(
    cluster.isWorker
      ? `gateway worker ${process.pid} at ${address}/graphql`
      : `Foresight GraphQL at ${address}/graphql`,
  );
}

main().catch((err: unknown) => {
  console.error(err instanceof ConfigError ? err.message : err);
  process.exit(1);
});
