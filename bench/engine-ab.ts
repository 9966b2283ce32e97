// The forecast engine of two checkouts in one process, on the same database and the same
// batches, alternating batch by batch: a steadier comparison of the engine's own cost than two
// gateways under HTTP load (no HTTP, no GraphQL, one event loop, the same moment's machine).
//
//   git worktree add --detach /tmp/before <commit> && ln -s "$PWD/node_modules" /tmp/before/
//   npx tsx bench/engine-ab.ts --before /tmp/before [--batches 300] [--batch 32]
//       [--model-before DIR] [--model-after DIR]
//
// Both engines read the bench database (bench/load.ts: foresight_bench, Beauty imported once)
// with their own copy of the shipped model. Reported per engine: wall and process CPU
// milliseconds per batch (median and mean), and the ratio after / before.
import path from 'node:path';
import { parseArgs } from 'node:util';
import { median, prepareBeautyUsers } from './load.js';

const { values: opts } = parseArgs({
  options: {
    'database-url': {
      type: 'string',
      default: 'postgres://postgres@127.0.0.1:5432/foresight_bench',
    },
    before: { type: 'string' },
    batches: { type: 'string', default: '300' },
    batch: { type: 'string', default: '32' },
    /** Model directories (default: each checkout's models/beauty), e.g. one model with and one without a feature. */
    'model-before': { type: 'string' },
    'model-after': { type: 'string' },
  },
});
if (!opts.before) throw new Error('--before CHECKOUT is required');

interface Engine {
  forecast(requests: unknown[]): Promise<unknown[]>;
  close(): void;
}

/** A checkout's engine over its own database connection and model, as the gateway builds it. */
async function openEngine(
  checkout: string,
  modelDir: string = path.join(checkout, 'models/beauty'),
): Promise<{ engine: Engine; close: () => Promise<void> }> {
  const load = (m: string) => import(path.resolve(checkout, m));
  const { loadConfig } = await load('src/config.ts');
  const { openDb } = await load('src/db/index.ts');
  const { Model } = await load('src/inference/model.ts');
  const { ForecastEngine } = await load('src/forecast/engine.ts');
  // retrievalSettings moved to src/db/retrieval.ts with the statements it configures.
  const { retrievalSettings } = await load('src/db/retrieval.ts').catch(() =>
    load('src/retrieval/candidates.ts'),
  );
  const config = loadConfig({ ...process.env, DATABASE_URL: opts['database-url'] }, checkout);
  const db = await openDb({
    databaseUrl: config.databaseUrl,
    settings: retrievalSettings(config.retrieval.efSearch),
  });
  const model = await Model.load(modelDir, 'cpu');
  const options = { retrieval: config.retrieval };
  // The engine options were renamed (inference → batching); give both names.
  const engine: Engine = new ForecastEngine(db, model, {
    ...options,
    batching: config.inference,
    inference: config.inference,
  });
  return {
    engine,
    close: async () => {
      await engine.close();
      await model.release();
      await db.close();
    },
  };
}

const request = (userId: string) => ({
  subject: { kind: 'user', userId },
  first: 10,
  filter: {
    excludePurchased: false,
    excludeSeen: true,
    inStockOnly: false,
    minPrice: null,
    maxPrice: null,
    categoryIds: null,
  },
  explain: false,
  mode: 'MODEL',
  context: null,
});

async function main() {
  const users = await prepareBeautyUsers(opts['database-url'] as string);
  const size = Number(opts.batch);
  const engines = {
    before: await openEngine(opts.before as string, opts['model-before']),
    after: await openEngine('.', opts['model-after']),
  };
  const times: Record<string, { wall: number[]; cpu: number[] }> = {
    before: { wall: [], cpu: [] },
    after: { wall: [], cpu: [] },
  };
  const run = async (name: 'before' | 'after', k: number) => {
    const batch = Array.from({ length: size }, (_, i) =>
      request(users[(k * size + i) % users.length] as string),
    );
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const out = await engines[name].engine.forecast(batch);
    const wall = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    if (out.some((f) => f instanceof Error)) throw out.find((f) => f instanceof Error);
    times[name]!.wall.push(wall);
    times[name]!.cpu.push((cpu.user + cpu.system) / 1000);
  };
  // Warm-up, then A B B A over the same batches.
  for (let k = 0; k < 10; k++) {
    await run('before', k);
    await run('after', k);
  }
  for (const t of Object.values(times)) {
    t.wall.length = 0;
    t.cpu.length = 0;
  }
  for (let k = 0; k < Number(opts.batches); k++) {
    const order = k % 2 === 0 ? (['before', 'after'] as const) : (['after', 'before'] as const);
    for (const name of order) await run(name, k);
  }
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const report: Record<string, unknown> = { batches: Number(opts.batches), batch: size };
  for (const [name, t] of Object.entries(times)) {
    report[name] = {
      wallMs: { median: median(t.wall), mean: mean(t.wall) },
      cpuMs: { median: median(t.cpu), mean: mean(t.cpu) },
    };
  }
  report.ratio = {
    wallMedian: median(times.after!.wall) / median(times.before!.wall),
    cpuMedian: median(times.after!.cpu) / median(times.before!.cpu),
    cpuMean: mean(times.after!.cpu) / mean(times.before!.cpu),
  };
  console.log(JSON.stringify(report, null, 2));
  await engines.before.close();
  await engines.after.close();
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
