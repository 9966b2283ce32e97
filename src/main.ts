// Entry point: configuration → database → migrations → (sample import into an empty
// database) → model and item embeddings → HTTP server. With GATEWAY_WORKERS > 1 the primary
// process does everything up to the embeddings once, then forks that many workers, each a
// whole gateway on the same port (src/cluster.ts).
import cluster from 'node:cluster';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { clusterCounters, engineCounters, runPrimary } from './cluster.js';
import { ConfigError, loadConfig, type Config } from './config.js';
import type { Db } from './db/client.js';
import { openDb } from './db/index.js';
import { migrate } from './db/migrate.js';
import { importSampleIfEmpty } from './import/sample.js';
import { createProgress } from './import/progress.js';
import { ForecastEngine } from './forecast/engine.js';
import { Model } from './inference/model.js';
import { IntentModel } from './intent/model.js';
import { retrievalSettings } from './retrieval/candidates.js';
import { embeddingColumnDim, syncItemEmbeddings } from './retrieval/embeddings.js';
import { ModelRollouts } from './rollout/rollouts.js';
import { EngineSlot } from './rollout/slot.js';
import { buildServer } from './server.js';
import { gracefulShutdown, type Readiness } from './shutdown.js';

/** Loads a model directory on the configured execution provider (at start-up and rollouts). */
function openModel(dir: string, config: Config): Promise<Model> {
  return Model.load(dir, config.inference.provider, config.inference.threads, {
    worker: config.inference.worker,
  });
}

/** Loads the model and writes its item embeddings where they are missing or stale; null when
 * MODEL_DIR holds no model yet (forecasts then answer UNAVAILABLE), so that the data API still
 * starts on a bare checkout. */
async function loadModel(db: Db, config: Config): Promise<Model | null> {
  if (!existsSync(path.join(config.modelDir, 'model.json'))) {
    console.error(
      `no model in ${config.modelDir} (model.json missing): serving data without interestForecast`,
    );
    return null;
  }
  const model = await openModel(config.modelDir, config);
  console.error(
    `model ${model.version} on ONNX Runtime ${model.provider.toUpperCase()}` +
      (model.providerNote ? ` (${model.providerNote})` : ''),
  );
  // The vector column's dimension was fixed by the first migration (EMBEDDING_DIM).
  const columnDim = await embeddingColumnDim(db);
  if (columnDim !== model.manifest.dim) {
    await model.release();
    throw new ConfigError(
      `model ${model.version} has ${model.manifest.dim}-dimensional embeddings but ` +
        `items.embedding is vector(${columnDim}): use a model of that dimension, or a new ` +
        `database created with EMBEDDING_DIM=${model.manifest.dim}`,
    );
  }
  const synced = await syncItemEmbeddings(db, model);
  if (synced.total > 0) {
    console.error(
      `item embeddings written: ${synced.learned} learned, ${synced.content} from the content tower`,
    );
  }
  return model;
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
 * The model (loadModel), the engine slot serving it and the run-time rollouts that switch it
 * (src/rollout/); null without a model.
 */
async function startForecasting(
  db: Db,
  config: Config,
): Promise<{ slot: EngineSlot; rollouts: ModelRollouts; close: () => Promise<void> } | null> {
  const model = await loadModel(db, config);
  if (!model) return null;
  const intent = await loadIntentModel(config);
  const createEngine = (m: Model) =>
    new ForecastEngine(db, m, { inference: config.inference, retrieval: config.retrieval, intent });
  const slot = new EngineSlot({
    engine: createEngine(model),
    directory: config.modelDir,
    loadedAt: new Date(),
  });
  const rollouts = new ModelRollouts({
    db,
    slot,
    createEngine,
    load: (dir) => openModel(dir, config),
    workers: config.workers,
  });
  return {
    slot,
    rollouts,
    close: async () => {
      for (const serving of [slot.current, slot.previous]) {
        serving?.engine.close();
        await serving?.engine.model.release();
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
    await (await loadModel(db, config))?.release();
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
      slot: forecasting.slot,
      rollouts: forecasting.rollouts,
      counters: clusterCounters(() => engineCounters(forecasting.slot.current.engine)),
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
