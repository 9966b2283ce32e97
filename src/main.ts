// Entry point: configuration → database → migrations → (sample import into an empty
// database) → HTTP server.
import { ConfigError, loadConfig } from './config.js';
import { openDb } from './db/index.js';
import { migrate } from './db/migrate.js';
import { importSampleIfEmpty } from './import/sample.js';
import { createProgress } from './import/progress.js';
import { ForecastEngine } from './forecast/engine.js';
import { Model } from './inference/model.js';
import { syncItemEmbeddings } from './retrieval/embeddings.js';
import { buildServer } from './server.js';

async function main(): Promise<void> {
  const config = loadConfig(process.env);
  const db = await openDb(config);
  const where =
    db.kind === 'postgres' ? 'PostgreSQL (DATABASE_URL)' : `PGlite at ${config.dataDir}`;
  console.error(`storage: ${where}`);
  const { applied } = await migrate(db, { EMBEDDING_DIM: config.embeddingDim });
  if (applied.length) console.error(`migrations applied: ${applied.join(', ')}`);
  if (config.autoImport) {
    const imported = await importSampleIfEmpty(db, config.sample, createProgress());
    if (imported) console.error(`imported the bundled sample in ${imported.seconds.toFixed(1)} s`);
  }
  const model = await Model.load(config.modelDir, config.inference.provider);
  console.error(
    `model ${model.version} on ONNX Runtime ${model.provider.toUpperCase()}` +
      (model.providerNote ? ` (${model.providerNote})` : ''),
  );
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
  const app = await buildServer({ config, db, engine });
  const shutdown = async () => {
    await app.close();
    engine.close();
    await model.release();
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
