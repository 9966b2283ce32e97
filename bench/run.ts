// Forecast benchmark (`npm run bench`, not part of the tests). Against a real PostgreSQL with
// Beauty and Sports imported, it measures, in one run on this machine:
//   1. HTTP load at several concurrencies for: dynamic batching on, batching off (max batch 1),
//      and the popularity baseline — req/s, latency percentiles, batch-size distribution and
//      ONNX time per batch;
//   2. HNSW recall@N against exact search for random users;
//   3. model-only throughput (sequences/s) by batch size.
// Results go to bench/results/forecast-<date>.json and the table in bench/README.md.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { loadConfig } from '../src/config.js';
import { openDb } from '../src/db/index.js';
import { subjectHistories } from '../src/db/forecasts.js';
import { bindTerms } from '../src/forecast/terms/index.js';
import { Model } from '../src/inference/model.js';
import { nearestNeighbours } from '../src/retrieval/candidates.js';
import {
  diffStats,
  drive,
  inferenceStats,
  QUERY,
  startServer,
  USER_SAMPLE_SQL,
  type LoadResult,
} from './load.js';

const { values: opts } = parseArgs({
  options: {
    'database-url': {
      type: 'string',
      default: 'postgres://postgres@127.0.0.1:5432/foresight_bench',
    },
    sports: { type: 'string', default: '../shared/data/amazon/Sports_and_Outdoors.txt' },
    'sports-attributes': {
      type: 'string',
      default: '../shared/data/amazon/Sports_and_Outdoors_item2attributes.json',
    },
    duration: { type: 'string', default: '10' },
    concurrency: { type: 'string', default: '1,8,32,64' },
    'recall-users': { type: 'string', default: '1000' },
    model: { type: 'string', default: 'models/beauty' },
    /** GATEWAY_WORKERS of the extra scenarios (1: none). */
    workers: { type: 'string', default: '2' },
  },
});
const databaseUrl = opts['database-url'] as string;
const duration = Number(opts.duration);
const concurrencies = (opts.concurrency as string).split(',').map(Number);
const log = (msg: string) => console.error(`[bench] ${msg}`);
/** The name of a scenario run with GATEWAY_WORKERS = --workers. */
const withWorkers = (name: string) => `${name} ×${Number(opts.workers)} workers`;
/** The serving defaults (src/config.ts), for the in-process measurements. */
const defaults = loadConfig({});

async function ensureDatabase(): Promise<void> {
  const url = new URL(databaseUrl);
  const name = url.pathname.slice(1);
  const adminUrl = new URL(databaseUrl);
  adminUrl.pathname = '/postgres';
  const admin = new pg.Client({ connectionString: adminUrl.toString() });
  await admin.connect();
  const exists = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
  if (exists.rowCount === 0) await admin.query(`CREATE DATABASE "${name}"`);
  await admin.end();
}

function importDataset(sequences: string, attributes: string): void {
  log(`importing ${sequences}`);
  execFileSync('npx', ['tsx', 'src/cli/import.ts', '--format', 'amazon', sequences, attributes], {
    env: { ...process.env, DATABASE_URL: databaseUrl },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
}

async function loadScenarios(userIds: string[]) {
  const scenarios: Record<string, Record<string, string>> = {
    batched: {}, // the defaults (src/config.ts)
    unbatched: { INFERENCE_MAX_BATCH: '1', INFERENCE_MAX_DELAY_MS: '0' },
    // No batching and no bound on concurrent model calls: what a gateway without a scheduler does.
    'unbatched-parallel': {
      INFERENCE_MAX_BATCH: '1',
      INFERENCE_MAX_DELAY_MS: '0',
      INFERENCE_MAX_IN_FLIGHT: '64',
    },
    popularity: { FORECAST_MODE: 'popularity' },
  };
  // The same with GATEWAY_WORKERS (src/cluster.ts): one gateway process runs its JavaScript on
  // one core; these show what the machine's other cores add, batches merging per worker.
  const workers = Number(opts.workers);
  if (workers > 1) {
    for (const name of ['batched', 'unbatched', 'popularity']) {
      scenarios[withWorkers(name)] = {
        ...scenarios[name],
        GATEWAY_WORKERS: String(workers),
      };
    }
  }
  const out: Record<
    string,
    (LoadResult & { inference: unknown; onnxMsPerBatch: number | null; meanBatch: number | null })[]
  > = {};
  let port = 4600;
  for (const [name, env] of Object.entries(scenarios)) {
    log(`scenario ${name}: starting server`);
    const server = await startServer(
      { DATABASE_URL: databaseUrl, INFERENCE_MAX_QUEUE: '100000', ...env },
      port++,
    );
    try {
      await drive(server.url, userIds, 8, 3, QUERY); // warm-up: JIT, caches, HNSW pages
      out[name] = [];
      for (const c of concurrencies) {
        const before = await inferenceStats(server.url);
        const r = await drive(server.url, userIds, c, duration, QUERY);
        const inference = diffStats(before, await inferenceStats(server.url));
        const onnxMsPerBatch =
          inference.encoderCalls > 0
            ? (inference.encoderMs + inference.scorerMs) / inference.encoderCalls
            : null;
        const meanBatch = inference.batches > 0 ? inference.forecasts / inference.batches : null;
        log(
          `${name} c=${c}: ${r.reqPerSec.toFixed(1)} req/s p50 ${r.latencyMs.p50.toFixed(1)} p95 ${r.latencyMs.p95.toFixed(1)} p99 ${r.latencyMs.p99.toFixed(1)} ms, ` +
            `mean batch ${meanBatch?.toFixed(1) ?? '-'}, errors ${r.errors}, non-2xx ${r.non2xx}`,
        );
        out[name].push({ ...r, inference, onnxMsPerBatch, meanBatch });
      }
    } finally {
      await server.stop();
    }
  }
  return out;
}

async function recallAndThroughput(userIds: string[]) {
  const db = await openDb({ databaseUrl });
  const model = await Model.load(opts.model as string, 'auto');
  try {
    const sample = userIds.slice(0, Number(opts['recall-users']));
    const histories = await subjectHistories(db, 'user', sample, model.manifest.maxLen);
    // SubjectEventRow carries the encoder's fields (itemId, type, occurredAt).
    const seqs = sample.map((u) => histories.get(u)?.events ?? []);
    const states: Float32Array[] = [];
    for (let i = 0; i < seqs.length; i += 256) {
      states.push(...(await model.encode(seqs.slice(i, i + 256))).map((o) => o.userState));
    }
    const filter = { categoryIds: null, minPrice: null, maxPrice: null, inStockOnly: true };
    const recall: Record<string, number> = {};
    // At the serving defaults: RETRIEVAL_EF_SEARCH, and N = 10 (served) and RETRIEVAL_CANDIDATES.
    for (const n of [10, defaults.retrieval.candidates]) {
      let hit = 0;
      let total = 0;
      for (let i = 0; i < states.length; i += 100) {
        const qs = states.slice(i, i + 100).map((userState) => ({ userState, exclude: [] }));
        const base = {
          dataset: model.manifest.dataset,
          limit: n,
          efSearch: defaults.retrieval.efSearch,
        };
        const approx = await nearestNeighbours(db, qs, filter, base);
        const exact = await nearestNeighbours(db, qs, filter, { ...base, exact: true });
        exact.forEach((ex, k) => {
          const got = new Set((approx[k] ?? []).map((c) => c.id));
          hit += ex.filter((c) => got.has(c.id)).length;
          total += ex.length;
        });
      }
      recall[`recall@${n}`] = hit / total;
      log(
        `HNSW recall@${n} (ef_search ${defaults.retrieval.efSearch}, ${states.length} users): ${(hit / total).toFixed(4)}`,
      );
    }
    const throughput: { batch: number; seqPerSec: number; msPerBatch: number }[] = [];
    for (const b of [1, 8, 32, 64, 128, 256]) {
      const batch = Array.from({ length: b }, (_, i) => seqs[i % seqs.length] ?? []);
      await model.encode(batch);
      const reps = Math.max(5, Math.ceil(512 / b));
      const t0 = performance.now();
      for (let r = 0; r < reps; r++) await model.encode(batch);
      const ms = (performance.now() - t0) / reps;
      throughput.push({ batch: b, seqPerSec: (b * 1000) / ms, msPerBatch: ms });
      log(`encoder batch ${b}: ${((b * 1000) / ms).toFixed(0)} seq/s (${ms.toFixed(2)} ms/batch)`);
    }
    // What the benchmark query's forecasts (first: 10) retrieve from the index per forecast:
    // `first` when the scorer ranks by the inner product, RETRIEVAL_CANDIDATES when it re-ranks.
    const retrievedN = bindTerms(model).reranks ? Math.max(defaults.retrieval.candidates, 10) : 10;
    return {
      recall,
      retrievedN,
      throughput,
      provider: model.provider,
      modelVersion: model.version,
    };
  } finally {
    await model.release();
    await db.close();
  }
}

function table(results: Awaited<ReturnType<typeof loadScenarios>>): string {
  const rows = [
    '| scenario | concurrency | req/s | p50 ms | p95 ms | p99 ms | mean batch | ONNX ms/batch | errors |',
    '|---|---|---|---|---|---|---|---|---|',
  ];
  for (const [name, list] of Object.entries(results)) {
    for (const r of list) {
      rows.push(
        `| ${name} | ${r.concurrency} | ${r.reqPerSec.toFixed(1)} | ${r.latencyMs.p50.toFixed(1)} | ${r.latencyMs.p95.toFixed(1)} | ${r.latencyMs.p99.toFixed(1)} | ${r.meanBatch?.toFixed(1) ?? '–'} | ${r.onnxMsPerBatch?.toFixed(2) ?? '–'} | ${r.errors + r.non2xx} |`,
      );
    }
  }
  return rows.join('\n');
}

async function main(): Promise<void> {
  if (!existsSync(opts.sports as string))
    throw new Error(`Sports data not found at ${opts.sports}`);
  await ensureDatabase();
  importDataset('data/amazon/Beauty.txt', 'data/amazon/Beauty_item2attributes.json');
  importDataset(opts.sports as string, opts['sports-attributes'] as string);
  const db = await openDb({ databaseUrl });
  const { rows } = await db.query<{ id: string }>(USER_SAMPLE_SQL);
  await db.close();
  const userIds = rows.map((r) => r.id);
  const load = await loadScenarios(userIds);
  const model = await recallAndThroughput(userIds);
  const at = new Date().toISOString();
  const result = {
    at,
    host: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model, node: process.version },
    durationS: duration,
    query: QUERY,
    load,
    model,
  };
  const file = `bench/results/forecast-${at.slice(0, 10)}.json`;
  await writeFile(file, `${JSON.stringify(result, null, 2)}\n`);
  const c32 = (name: string) => load[name]?.find((r) => r.concurrency === 32);
  /** req/s of scenario `a` over scenario `b` at concurrency 32. */
  const ratio32 = (a: string, b: string) => (c32(a)?.reqPerSec ?? 0) / (c32(b)?.reqPerSec ?? 1);
  const ratio = ratio32('batched', 'unbatched');
  const ratioParallel = ratio32('batched', 'unbatched-parallel');
  // The same request without any model (popularity) bounds what batching can reach: the
  // batched path cannot be faster than the request with the model's work removed.
  const ceiling = ratio32('popularity', 'unbatched');
  const summary = [
    `Run ${at} on ${result.host.cpus} × ${result.host.cpuModel}, Node ${process.version}, ${duration} s per point, execution provider ${model.provider}, model ${model.modelVersion}.`,
    '',
    table(load),
    '',
    `Batched / unbatched throughput at concurrency 32: **${ratio.toFixed(2)}×** ` +
      `(against unbatched-parallel: ${ratioParallel.toFixed(2)}×). ` +
      `Popularity (no model at all) / unbatched: ${ceiling.toFixed(2)}×, the ceiling of that ` +
      `ratio for this request on this machine.` +
      (c32(withWorkers('batched'))
        ? ` With GATEWAY_WORKERS=${opts.workers}: batched / unbatched ` +
          `${ratio32(withWorkers('batched'), withWorkers('unbatched')).toFixed(2)}×, ` +
          `${withWorkers('batched')} / batched (one process) ` +
          `${ratio32(withWorkers('batched'), 'batched').toFixed(2)}×.`
        : ''),
    '',
    `HNSW (ef_search ${defaults.retrieval.efSearch}, iterative scan) vs exact search over ${Number(opts['recall-users'])} users: ` +
      Object.entries(model.recall)
        .map(([k, v]) => `${k} = ${v.toFixed(4)}`)
        .join(', ') +
      ` (the benchmark's forecasts retrieve the ${model.retrievedN} nearest neighbours each).`,
    '',
    '| encoder batch | sequences/s | ms/batch |',
    '|---|---|---|',
    ...model.throughput.map(
      (t) => `| ${t.batch} | ${t.seqPerSec.toFixed(0)} | ${t.msPerBatch.toFixed(2)} |`,
    ),
  ].join('\n');
  const readme = await readFile('bench/README.md', 'utf8');
  const start = '<!-- results:start -->';
  const end = '<!-- results:end -->';
  const next = readme.replace(
    new RegExp(`${start}[\\s\\S]*${end}`),
    `${start}\n${summary}\n${end}`,
  );
  // formatted as the repository's lint expects (prettier --check runs in CI)
  const prettier = await import('prettier');
  const options = await prettier.resolveConfig('bench/README.md');
  await writeFile(
    'bench/README.md',
    await prettier.format(next, { ...options, filepath: 'bench/README.md' }),
  );
  log(`wrote ${file} and bench/README.md`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
