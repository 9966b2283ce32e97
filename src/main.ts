// Entry point: configuration → database → migrations → (sample import into an empty
// database) → HTTP server.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { ConfigError, loadConfig, type Config } from './config.js';
import type { Db } from './db/client.js';
import { openDb } from './db/index.js';
import { migrate } from './db/migrate.js';
import { importSampleIfEmpty } from './import/sample.js';
import { createProgress } from './import/progress.js';
import { ForecastEngine } from './forecast/engine.js';
import { Model } from './inference/model.js';
import { retrievalSettings } from './retrieval/candidates.js';
import { syncItemEmbeddings } from './retrieval/embeddings.js';
import { buildServer } from './server.js';

/** Loads the model and starts the forecast engine; null (forecasts answer UNAVAILABLE) when
 * MODEL_DIR holds no model yet, so that the data API still starts on a bare checkout. */
async function startForecasting(
  db: Db,
  config: Config,
): Promise<{ engine: ForecastEngine; close: () => Promise<void> } | null> {
  if (!existsSync(path.join(config.modelDir, 'model.json'))) {
    console.error(
      `no model in ${config.modelDir} (model.json missing): serving data without interestForecast`,
    );
    return null;
  }
  const model = await Model.load(
    config.modelDir,
    config.inference.provider,
    config.inference.threads,
    { worker: config.inference.worker },
  );
  console.error(
    `model ${model.version} on ONNX Runtime ${model.provider.toUpperCase()}` +
      (model.providerNote ? ` (${model.providerNote})` : ''),
  );
  // The vector column's dimension was fixed by the first migration (EMBEDDING_DIM).
  const { rows } = await db.query<{ dim: number }>(
    `SELECT atttypmod AS dim FROM pg_attribute
     WHERE attrelid = 'items'::regclass AND attname = 'embedding'`,
  );
  const columnDim = rows[0]?.dim;
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
  const engine = new ForecastEngine(db, model, {
    inference: config.inference,
    retrieval: config.retrieval,
  });
  return {
    engine,
    close: async () => {
      engine.close();
      await model.release();
    },
  };
}

async function main(): Promise<void> {
  const config = loadConfig(process.env);
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
  const forecasting = await startForecasting(db, config);
  const app = await buildServer({ config, db, ...(forecasting && { engine: forecasting.engine }) });
  const shutdown = async () => {
    await app.close();
    await forecasting?.close();
    await db.close();
    process.exit(0);
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
  const address = await app.listen({ port: config.port, host: config.host });
  console.error(`Foresight GraphQL at ${address}/graphql`);
}

main().catch((err: unknown) => {
  console.error(err instanceof ConfigError ? err.message : err);
  process.exit(1);
});
