// Entry point: configuration → database → migrations → (sample import into an empty
// database) → the models serving each dataset (src/serving/) → HTTP server. With
// GATEWAY_WORKERS > 1 the primary process does everything up to the embeddings once, then
// forks that many workers, each a whole gateway on the same port (src/cluster.ts).
import cluster from 'node:cluster';
import { clusterCounters, runPrimary } from './cluster.js';
import { ConfigError, loadConfig, type Config } from './config.js';
import type { Db } from './db/client.js';
import { openDb } from './db/index.js';
import { migrate } from './db/migrate.js';
import { createProgress } from './import/progress.js';
import { importSampleIfEmpty } from './import/sample.js';
import { log, type Logger } from './log.js';
import { startForecastRetention } from './forecast/retention.js';
import { engineCounters } from './metrics/counters.js';
import { buildServer } from './server.js';
import { prepareEmbeddings, startServing } from './serving/start.js';
import { gracefulShutdown, type Readiness } from './shutdown.js';
import { retrievalSettings } from './db/retrieval.js';
import { ReadRouter } from './db/read-routing.js';
import { openPostgresLazily } from './db/postgres.js';

/** The database, migrated and (AUTO_IMPORT) holding the sample; idempotent. */
async function openPrepared(config: Config, log: Logger): Promise<Db> {
  // Candidate queries' settings for every connection: no transaction per retrieval.
  const db = await openDb({ ...config, settings: retrievalSettings(config.retrieval.efSearch) });
  const where =
    db.kind === 'postgres' ? 'PostgreSQL (DATABASE_URL)' : `PGlite at ${config.dataDir}`;
  log.info(`storage: ${where}`);
  const { applied } = await migrate(db, { EMBEDDING_DIM: config.embeddingDim });
  if (applied.length) log.info(`migrations applied: ${applied.join(', ')}`);
  if (config.autoImport) {
    const imported = await importSampleIfEmpty(db, config.sample, createProgress(), (m) =>
      log.info(m),
    );
    if (imported) log.info(`imported the bundled sample in ${imported.seconds.toFixed(1)} s`);
  }
  return db;
}

/**
 * The read replica's router (READ_DATABASE_URL), or null. A replica that does not answer at
 * start-up is not fatal: reads go to the primary until it does.
 */
async function openReadReplica(db: Db, config: Config, log: Logger): Promise<ReadRouter | null> {
  if (!config.readReplica) return null;
  const replica = await openPostgresLazily(config.readReplica.url, db.settings);
  const router = new ReadRouter(db, replica, {
    maxLagMs: config.readReplica.maxLagMs,
    onChange: (up, why) =>
      up ? log.info(`read replica in use: ${why}`) : log.warn(`read replica skipped: ${why}`),
  });
  log.info(`forecast reads: the replica of READ_DATABASE_URL when caught up, else the primary`);
  return router;
}

/** The cluster's primary: prepares the database once, then runs the workers. */
async function primary(config: Config, log: Logger): Promise<void> {
  const db = await openPrepared(config, log);
  try {
    await prepareEmbeddings(db, config);
  } finally {
    await db.close();
  }
  runPrimary(config.workers, (line) => log.info(line), config.shutdownTimeoutMs);
}

async function main(log: Logger): Promise<void> {
  const config = loadConfig(process.env);
  log.level = config.logLevel;
  if (config.workers > 1 && cluster.isPrimary) return primary(config, log);
  // A worker finds the database prepared: every step below is a no-op read for it.
  const db = await openPrepared(config, log);
  const reads = await openReadReplica(db, config, log);
  const serving = await startServing(db, config, reads);
  const readiness: Readiness = { draining: false };
  const app = await buildServer({
    config,
    db,
    readiness,
    ...(reads && { reads }),
    ...(serving && {
      registry: serving.registry,
      rollouts: serving.rollouts,
      counters: clusterCounters(() => ({
        ...engineCounters(...serving.registry.serving().map((s) => s.engine)),
        ...(reads && { reads: reads.counters() }),
      })),
    }),
  });
  const retention = startForecastRetention(db, config.forecastRetention, log);
  // Once only: a cluster worker gets both the terminal's SIGINT and the primary's SIGTERM.
  // Further signals are ignored; SHUTDOWN_TIMEOUT_MS bounds the wait.
  let stopping = false;
  const shutdown = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    log.info(`${signal} received`);
    gracefulShutdown(
      app,
      [
        () => retention.stop(),
        () => serving?.close(),
        () => reads?.replica.close(),
        () => db.close(),
      ],
      {
        readiness,
        timeoutMs: config.shutdownTimeoutMs,
        log: (line) => log.info(line),
      },
    ).then(
      (outcome) => process.exit(outcome === 'closed' ? 0 : 1),
      (err: unknown) => {
        log.fatal({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);
  const address = await app.listen({ port: config.port, host: config.host });
  log.info(
    cluster.isWorker
      ? `gateway worker ${process.pid} at ${address}/graphql`
      : `Foresight GraphQL at ${address}/graphql`,
  );
}

main(log).catch((err: unknown) => {
  if (err instanceof ConfigError) log.fatal(err.message);
  else log.fatal({ err }, 'start-up failed');
  process.exit(1);
});
