// Model rollout and rollback on the full Beauty catalogue (12,101 items), in process: how long
// each takes, how long requests were held (`pauseMs`), and what forecasts saw meanwhile (two
// clients asking one forecast after another throughout). Between the rollout and the rollback
// 10 products are added through the serving model, as upsertItem does, so the rollback has
// stale rows to re-embed. docs/rollout.md quotes the figures.
//
//   npx tsx bench/rollout.ts --backend postgres|pglite [--database-url postgres://…/test]
//                            [--vacuum before-switch|at-start-up]
//
// PostgreSQL: a temporary database on the server at --database-url, dropped afterwards;
// PGlite: in memory. --vacuum: when the rewritten rows are vacuumed (default: the back-end's,
// RolloutOptions.vacuum); a deferred vacuum is run and timed at the end, as the next start-up
// would. Writes bench/results/rollout-<backend>-<vacuum>-<date>.json.
import { mkdir, mkdtemp, readFile, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '../src/config.js';
import type { Db } from '../src/db/client.js';
import { upsertItems } from '../src/db/items.js';
import { migrate } from '../src/db/migrate.js';
import { openPglite } from '../src/db/pglite.js';
import { createTemporaryDatabase, openPostgres } from '../src/db/postgres.js';
import { ForecastEngine } from '../src/forecast/engine.js';
import type { ForecastRequest } from '../src/forecast/forecast.js';
import { ModelRegistry } from '../src/serving/registry.js';
import { withTerms } from '../src/forecast/terms/index.js';
import { importAmazon } from '../src/import/amazon.js';
import { Model } from '../src/inference/model.js';
import { syncItemEmbeddings, vacuumItems } from '../src/serving/embeddings.js';
import type { EmbeddingSlot } from '../src/db/embedding-slots.js';
import { ModelRollouts } from '../src/serving/rollouts.js';
import { retrievalSettings } from '../src/db/retrieval.js';

const { values: opts } = parseArgs({
  options: {
    backend: { type: 'string', default: 'postgres' },
    'database-url': { type: 'string', default: 'postgres://postgres@127.0.0.1:5432/test' },
    vacuum: { type: 'string' },
  },
});
const backend = opts.backend as 'pglite' | 'postgres';
const vacuum = (opts.vacuum ?? (backend === 'pglite' ? 'at-start-up' : 'before-switch')) as
  'before-switch' | 'at-start-up';
const log = (m: string) => console.error(`[rollout ${backend}] ${m}`);
const config = loadConfig({ AUTO_IMPORT: 'false' });
const MODEL = 'models/beauty';

async function open(): Promise<{ db: Db; dispose: () => Promise<void> }> {
  const settings = retrievalSettings(config.retrieval.efSearch);
  if (backend === 'pglite') {
    const db = await openPglite(undefined, settings);
    await migrate(db, { EMBEDDING_DIM: 64 });
    return { db, dispose: () => db.close() };
  }
  const { url, drop } = await createTemporaryDatabase(
    opts['database-url'] as string,
    'foresight_rollout',
  );
  const db = await openPostgres(url, undefined, settings);
  await migrate(db, { EMBEDDING_DIM: 64 });
  return { db, dispose: async () => (await db.close(), await drop()) };
}

/** models/beauty under another version: a candidate that validates and serves the same. */
async function candidate(version: string): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'foresight-rollout-bench-'));
  for (const f of await readdir(MODEL)) {
    if (f === 'model.json') {
      const m = JSON.parse(await readFile(path.join(MODEL, f), 'utf8')) as { version: string };
      m.version = version;
      await writeFile(path.join(dir, f), JSON.stringify(m));
    } else await symlink(path.resolve(MODEL, f), path.join(dir, f));
  }
  return dir;
}

const request = (userId: string): ForecastRequest => ({
  subject: { kind: 'user', userId },
  first: 10,
  filter: {
    categoryIds: null,
    minPrice: null,
    maxPrice: null,
    inStockOnly: true,
    excludePurchased: true,
    excludeSeen: true,
  },
  explain: false,
  mode: 'MODEL',
  context: null,
});

interface Sample {
  start: number;
  ms: number;
  version: string;
}

/** Latency of the forecasts that were running at some point of [from, to]. */
function latency(samples: readonly Sample[], from: number, to: number) {
  const ms = samples
    .filter((s) => s.start + s.ms >= from && s.start <= to)
    .map((s) => s.ms)
    .sort((a, b) => a - b);
  const q = (p: number) => ms[Math.min(ms.length - 1, Math.floor(p * ms.length))] ?? 0;
  return { forecasts: ms.length, p50: q(0.5), p99: q(0.99), max: ms[ms.length - 1] ?? 0 };
}

async function main(): Promise<void> {
  const { db, dispose } = await open();
  let t = performance.now();
  await importAmazon(db, {
    sequences: ['data/amazon/Beauty.txt'],
    attributes: ['data/amazon/Beauty_item2attributes.json'],
  });
  log(`imported in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  const model = await Model.load(MODEL, 'cpu');
  t = performance.now();
  const synced = await syncItemEmbeddings(db, model);
  const initialSyncMs = performance.now() - t;
  log(`start-up sync of ${synced.total} items in ${(initialSyncMs / 1000).toFixed(1)} s`);
  const createEngine = (m: Model, embeddingSlot: EmbeddingSlot = 'a') =>
    new ForecastEngine(db, m, {
      batching: config.inference,
      retrieval: config.retrieval,
      embeddingSlot,
    });
  const registry = new ModelRegistry([
    { engine: createEngine(model), directory: path.resolve(MODEL), loadedAt: new Date() },
  ]);
  const rollouts = new ModelRollouts({
    db,
    registry,
    load: (d) => withTerms(Model.load(d, 'cpu')),
    createEngine,
    workers: 1,
    vacuum,
  });
  const users = (
    await db.query<{ id: string }>(`SELECT id FROM users ORDER BY id LIMIT 2000`)
  ).rows.map((r) => r.id);
  const samples: Sample[] = [];
  let running = true;
  let k = 0;
  const client = async () => {
    while (running) {
      const start = performance.now();
      const lease = registry.acquire();
      try {
        const [f] = await lease.forecast([request(users[k++ % users.length] as string)]);
        if (!f || f instanceof Error) throw f;
        samples.push({ start, ms: performance.now() - start, version: f.modelVersion });
      } finally {
        lease.release();
      }
    }
  };
  const clients = [client(), client()];
  await new Promise((r) => setTimeout(r, 5000));
  const baseline = latency(samples, 0, performance.now());

  const dir = await candidate('beauty-rollout-bench');
  let t0 = performance.now();
  const rollout = await rollouts.rollout(dir);
  const rolloutWindow = [t0, performance.now()] as const;
  log(
    `rollout ${(rolloutWindow[1] - t0).toFixed(0)} ms (write ${rollout.writeMs.toFixed(0)} ms, ` +
      `pause ${rollout.pauseMs.toFixed(3)} ms)`,
  );
  await new Promise((r) => setTimeout(r, 2000));
  // Ten new products while the candidate serves (slot b): embedded there at once, stale in a.
  const lease = registry.acquire();
  await db.transaction(async (tx) => {
    for (let i = 0; i < 10; i++) {
      const id = `beauty:bench-new-${i}`;
      await upsertItems(tx, [
        {
          id,
          dataset: 'beauty',
          title: `Bench product ${i}`,
          description: null,
          brand: null,
          price: 10 + i,
          inStock: true,
          attributes: {},
          categoryIds: [],
        },
      ]);
      await lease.embedItems(tx, [id]);
    }
  });
  lease.release();
  await new Promise((r) => setTimeout(r, 1000));
  t0 = performance.now();
  const rollback = await rollouts.rollback();
  const rollbackWindow = [t0, performance.now()] as const;
  log(
    `rollback ${(rollbackWindow[1] - t0).toFixed(0)} ms (write ${rollback.writeMs.toFixed(0)} ms, ` +
      `pause ${rollback.pauseMs.toFixed(3)} ms, ${rollback.embeddingsWritten} rows)`,
  );
  await new Promise((r) => setTimeout(r, 2000));
  running = false;
  await Promise.all(clients);
  // What the next start-up does when the vacuum was deferred.
  t0 = performance.now();
  const deferred = await vacuumItems(db, 0);
  const startupVacuumMs = deferred === 'vacuumed' ? performance.now() - t0 : null;

  const result = {
    backend,
    code: 'two embedding slots',
    vacuum,
    items: synced.total,
    startupSyncMs: initialSyncMs,
    baseline,
    rollout: {
      totalMs: rolloutWindow[1] - rolloutWindow[0],
      writeMs: rollout.writeMs,
      pauseMs: rollout.pauseMs,
      embeddingsWritten: rollout.embeddingsWritten,
      forecastsDuring: latency(samples, ...rolloutWindow),
    },
    rollback: {
      totalMs: rollbackWindow[1] - rollbackWindow[0],
      writeMs: rollback.writeMs,
      pauseMs: rollback.pauseMs,
      embeddingsWritten: rollback.embeddingsWritten,
      forecastsDuring: latency(samples, ...rollbackWindow),
    },
    startupVacuumMs,
    versions: [...new Set(samples.map((s) => s.version))],
  };
  console.log(JSON.stringify(result, null, 2));
  await mkdir('bench/results', { recursive: true });
  const date = new Date().toISOString().slice(0, 10);
  const out = `bench/results/rollout-${backend}-${vacuum}-${date}.json`;
  await writeFile(out, `${JSON.stringify(result, null, 2)}\n`);
  log(`wrote ${out}`);
  for (const s of registry.loaded()) {
    await s.engine.close();
    await s.engine.model.release();
  }
  await rm(dir, { recursive: true, force: true });
  await dispose();
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
