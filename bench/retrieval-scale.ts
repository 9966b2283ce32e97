// How candidate retrieval grows with the catalogue: the gateway's own nearest-neighbour statement
// (db/retrieval.ts nearestNeighbourRows: pgvector HNSW, one LATERAL scan per user state) against
// an exact scan of the same vectors in the gateway's process, at several catalogue sizes.
//
//   npx tsx bench/retrieval-scale.ts [--sizes 12101,100000,1000000] [--batches 40] [--batch 24]
//
// COST ONLY, NEVER QUALITY. The catalogues beyond Beauty's 12,101 items are generated: item j is
// Beauty item (j mod 12,101)'s learned vector (models/beauty/item_embeddings.f32) plus Gaussian
// noise (sd `--noise` × the vectors' per-coordinate sd; mulberry32 seed 1), so every real item
// has near-copies. The queries are real: the shipped model's user states of the first Beauty
// shoppers of the bench database (bench/load.ts: foresight_bench, Beauty imported). Rows go into
// a scratch database (`foresight_scale`, recreated) built by the project's migrations, as the
// loaded model's own rows (source 'model', its version), so the statement ships ids only, as it
// does in the gateway.
//
// Per size: rows/s of the load (multi-row INSERT of vector literals), HNSW build seconds (the
// migrations' index, default pgvector parameters), the statement's wall ms per batch (p50, p99;
// RETRIEVAL_CANDIDATES and RETRIEVAL_EF_SEARCH defaults), recall@10 and @N of its lists against
// the exact top, the exact scan's ms per batch in this process two ways (a plain JavaScript
// kernel, one pass over the matrix per batch; the gateway's own, src/inference/exact-top.ts:
// ONNX Runtime's Gemm + TopK on one thread), its matrix's bytes, and the exponent b of
// time ≈ a · size^b fitted over the sizes. Writes bench/results/retrieval-scale-<date>.json.
import { writeFileSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '../src/config.js';
import { openDb } from '../src/db/index.js';
import { migrate } from '../src/db/migrate.js';
import { subjectHistories } from '../src/db/forecasts.js';
import { nearestNeighbourRows, retrievalSettings, toVectorLiteral } from '../src/db/retrieval.js';
import { Model } from '../src/inference/model.js';
import { ExactTop } from '../src/inference/exact-top.js';
import { ort } from '../src/inference/onnx.js';
import { mulberry32 } from '../src/random.js';
import { median, prepareBeautyUsers, recreateDatabase } from './load.js';

const { values: opts } = parseArgs({
  options: {
    'bench-url': { type: 'string', default: 'postgres://postgres@127.0.0.1:5432/foresight_bench' },
    'scale-url': { type: 'string', default: 'postgres://postgres@127.0.0.1:5432/foresight_scale' },
    sizes: { type: 'string', default: '12101,100000,1000000' },
    batches: { type: 'string', default: '40' },
    batch: { type: 'string', default: '24' },
    noise: { type: 'string', default: '0.3' },
    out: { type: 'string' },
  },
});

const MODEL_DIR = 'models/beauty';
const DATASET = 'scale';
const sizes = (opts.sizes as string).split(',').map(Number);
const batches = Number(opts.batches);
const batchSize = Number(opts.batch);
const defaults = loadConfig({}, process.cwd()).retrieval;
const log = (s: string) => console.error(`[retrieval-scale] ${s}`);

const quantile = (xs: readonly number[], q: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] as number;
};

/** Least-squares slope of log(y) on log(x): y ≈ a · x^b. */
function exponent(xs: readonly number[], ys: readonly number[]): number | null {
  if (xs.length < 2) return null;
  const lx = xs.map(Math.log);
  const ly = ys.map(Math.log);
  const mx = lx.reduce((a, b) => a + b, 0) / lx.length;
  const my = ly.reduce((a, b) => a + b, 0) / ly.length;
  let num = 0;
  let den = 0;
  lx.forEach((x, i) => {
    num += (x - mx) * ((ly[i] as number) - my);
    den += (x - mx) ** 2;
  });
  return num / den;
}

/** The `k` best rows of `matrix` [n, d] by inner product with each query: indices, best first. */
function exactTop(matrix: Float32Array, d: number, queries: Float32Array[], k: number): number[][] {
  const n = matrix.length / d;
  const tops = queries.map(() => ({
    idx: new Int32Array(k).fill(-1),
    val: new Float64Array(k).fill(-Infinity),
  }));
  for (let r = 0; r < n; r++) {
    const off = r * d;
    for (let q = 0; q < queries.length; q++) {
      const u = queries[q] as Float32Array;
      let s = 0;
      for (let j = 0; j < d; j++) s += (matrix[off + j] as number) * (u[j] as number);
      const t = tops[q] as { idx: Int32Array; val: Float64Array };
      if (s <= (t.val[k - 1] as number)) continue;
      let p = k - 1;
      while (p > 0 && (t.val[p - 1] as number) < s) {
        t.val[p] = t.val[p - 1] as number;
        t.idx[p] = t.idx[p - 1] as number;
        p--;
      }
      t.val[p] = s;
      t.idx[p] = r;
    }
  }
  return tops.map((t) => Array.from(t.idx));
}

/** Beauty's learned item vectors (row 0 of the file is the padding). */
function beautyVectors(dim: number): Float32Array {
  const raw = readFileSync(path.join(MODEL_DIR, 'item_embeddings.f32'));
  const all = new Float32Array(raw.buffer, raw.byteOffset, raw.byteLength / 4);
  return all.slice(dim);
}

function catalogue(base: Float32Array, dim: number, n: number, noise: number): Float32Array {
  const m = base.length / dim;
  let sum = 0;
  let sq = 0;
  for (const x of base) {
    sum += x;
    sq += x * x;
  }
  const sd = Math.sqrt(sq / base.length - (sum / base.length) ** 2);
  const rand = mulberry32(1);
  const gauss = () => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
  const out = new Float32Array(n * dim);
  for (let r = 0; r < n; r++) {
    const src = (r % m) * dim;
    for (let j = 0; j < dim; j++) {
      out[r * dim + j] = (base[src + j] as number) + (r < m ? 0 : noise * sd * gauss());
    }
  }
  return out;
}

async function userStates(model: Model): Promise<Float32Array[]> {
  const users = await prepareBeautyUsers(opts['bench-url'] as string);
  const db = await openDb({ databaseUrl: opts['bench-url'] as string });
  try {
    const wanted = users.slice(0, batches * batchSize);
    const histories = await subjectHistories(db, 'user', wanted, model.manifest.maxLen);
    const seqs = wanted.map((u) => histories.get(u)?.events ?? []);
    const states: Float32Array[] = [];
    for (let i = 0; i < seqs.length; i += 256) {
      states.push(...(await model.encode(seqs.slice(i, i + 256))).map((o) => o.userState));
    }
    return states;
  } finally {
    await db.close();
  }
}

async function main(): Promise<void> {
  const model = await Model.load(MODEL_DIR, 'cpu');
  const dim = model.manifest.dim;
  const version = model.version;
  const states = await userStates(model);
  await model.release();
  const queries = Array.from({ length: batches }, (_, b) =>
    states.slice(b * batchSize, (b + 1) * batchSize),
  );
  const base = beautyVectors(dim);
  // the gateway's exact scan (src/retrieval/exact.ts), one ONNX Runtime thread
  const onnxTop = await ExactTop.open(dim);
  const limit = Math.max(defaults.candidates, 10);
  const rows: Record<string, unknown>[] = [];
  for (const n of sizes) {
    await recreateDatabase(opts['scale-url'] as string);
    const db = await openDb({
      databaseUrl: opts['scale-url'] as string,
      settings: retrievalSettings(defaults.efSearch),
    });
    try {
      await migrate(db, { EMBEDDING_DIM: dim });
      await db.query('DROP INDEX items_embedding_hnsw_idx');
      const matrix = catalogue(base, dim, n, Number(opts.noise));
      let t = performance.now();
      const CHUNK = 5000;
      for (let s = 0; s < n; s += CHUNK) {
        const ids: string[] = [];
        const vecs: string[] = [];
        for (let r = s; r < Math.min(n, s + CHUNK); r++) {
          ids.push(`${DATASET}:${r}`);
          vecs.push(toVectorLiteral(matrix.subarray(r * dim, (r + 1) * dim)));
        }
        await db.query(
          `INSERT INTO items (id, dataset, embedding, embedding_source, embedding_model_version)
           SELECT id, $2, v::vector, 'model', $3 FROM unnest($1::text[], $4::text[]) AS x(id, v)`,
          [ids, DATASET, version, vecs],
        );
      }
      const loadS = (performance.now() - t) / 1000;
      t = performance.now();
      await db.query(
        'CREATE INDEX items_embedding_hnsw_idx ON items USING hnsw (embedding vector_ip_ops)',
      );
      await db.query('ANALYZE items');
      const buildS = (performance.now() - t) / 1000;
      log(`${n} items: load ${loadS.toFixed(1)} s, HNSW build ${buildS.toFixed(1)} s`);
      const filter = { categoryIds: null, minPrice: null, maxPrice: null, inStockOnly: false };
      const statementMs: number[] = [];
      const exactMs: number[] = [];
      const onnxMs: number[] = [];
      let mismatches = 0;
      const itemsTensor = new ort.Tensor('float32', matrix, [n, dim]);
      const noBias = new ort.Tensor('float32', new Float32Array(n), [1, n]);
      let hit10 = 0;
      let hitN = 0;
      let total10 = 0;
      let totalN = 0;
      // one warm-up batch of each
      for (let b = -1; b < batches; b++) {
        const qs = queries[Math.max(0, b)] as Float32Array[];
        let s = performance.now();
        const got = await nearestNeighbourRows(
          db,
          qs.map((userState) => ({ userState, exclude: [] })),
          filter,
          {
            dataset: DATASET,
            knownVersion: version,
            limit,
            efSearch: defaults.efSearch,
            exact: false,
            slot: undefined,
          },
        );
        const stmt = performance.now() - s;
        s = performance.now();
        const exact = exactTop(matrix, dim, qs, limit);
        const ex = performance.now() - s;
        s = performance.now();
        const flat = new Float32Array(qs.length * dim);
        qs.forEach((u, q) => flat.set(u, q * dim));
        const onnxIdx = (await onnxTop.top(flat, itemsTensor, noBias, limit)).indices;
        const ox = performance.now() - s;
        // the two exact scans agree (ties aside)
        exact.forEach((idx, q) => {
          if (Number(onnxIdx[q * limit]) !== idx[0]) mismatches++;
        });
        if (b < 0) continue;
        statementMs.push(stmt);
        exactMs.push(ex);
        onnxMs.push(ox);
        const lists = qs.map(() => new Set<string>());
        for (const r of got) (lists[r.k] as Set<string>).add(r.id);
        exact.forEach((idx, q) => {
          const list = lists[q] as Set<string>;
          // relaxed_order returns rows nearly best first: the statement's 10 best by similarity
          const byScore = got
            .filter((r) => r.k === q)
            .sort((x, y) => Number(y.similarity) - Number(x.similarity))
            .slice(0, 10)
            .map((r) => r.id);
          const approx10 = new Set(byScore);
          idx.slice(0, 10).forEach((i) => (hit10 += approx10.has(`${DATASET}:${i}`) ? 1 : 0));
          idx.forEach((i) => (hitN += list.has(`${DATASET}:${i}`) ? 1 : 0));
          total10 += 10;
          totalN += idx.length;
        });
      }
      const size = await db.query<{ bytes: string }>(
        "SELECT pg_relation_size('items_embedding_hnsw_idx') AS bytes",
      );
      const row = {
        items: n,
        loadRowsPerSec: Math.round(n / loadS),
        hnswBuildSec: Number(buildS.toFixed(2)),
        hnswIndexBytes: Number(size.rows[0]?.bytes ?? 0),
        statementMsPerBatch: { p50: median(statementMs), p99: quantile(statementMs, 0.99) },
        recallAt10: hit10 / total10,
        [`recallAt${limit}`]: hitN / totalN,
        exactScanMsPerBatch: { p50: median(exactMs), p99: quantile(exactMs, 0.99) },
        exactOnnxMsPerBatch: { p50: median(onnxMs), p99: quantile(onnxMs, 0.99) },
        exactTopMismatches: mismatches,
        exactMatrixBytes: n * dim * 4,
      };
      log(JSON.stringify(row));
      rows.push(row);
    } finally {
      await db.close();
    }
  }
  const xs = rows.map((r) => r.items as number);
  const fit = (f: (r: Record<string, unknown>) => number) => exponent(xs, rows.map(f));
  const p50 = (k: string) => (r: Record<string, unknown>) => (r[k] as { p50: number }).p50;
  const report = {
    date: new Date().toISOString(),
    note:
      'COST ONLY: catalogues beyond 12,101 items are Beauty vectors replicated with Gaussian noise; ' +
      'the queries are real user states (bench/retrieval-scale.ts)',
    settings: {
      batch: batchSize,
      batches,
      limit,
      efSearch: defaults.efSearch,
      noise: Number(opts.noise),
      dim,
    },
    rows,
    exponents: {
      loadSeconds: fit((r) => (r.items as number) / (r.loadRowsPerSec as number)),
      hnswBuildSeconds: fit((r) => r.hnswBuildSec as number),
      statementP50: fit(p50('statementMsPerBatch')),
      exactScanP50: fit(p50('exactScanMsPerBatch')),
      exactOnnxP50: fit(p50('exactOnnxMsPerBatch')),
    },
  };
  await onnxTop.release();
  const out =
    opts.out ?? `bench/results/retrieval-scale-${new Date().toISOString().slice(0, 10)}.json`;
  writeFileSync(out, `${JSON.stringify(report, null, 2)}\n`);
  console.log(JSON.stringify(report, null, 2));
}

await main();
