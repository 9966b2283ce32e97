// Per-request cost of limits shared through the database (RATE_LIMIT_STORE=database): the time
// of one SharedRateLimiter.take (one upsert on rate_buckets) against RateLimiter.take in the
// process, sequentially (the latency a request adds) and with `--concurrency` takes in flight
// (the throughput one database gives), on one hot key (every take waits for the row lock of the
// one before) and spread over 1,000 keys.
//
//   npx tsx bench/shared-limits.ts [--database-url postgres://…/test] [--takes 5000] [--concurrency 16]
//
// Works in a temporary database on that server (dropped afterwards); writes
// bench/results/shared-limits-<date>.json.
import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { migrate } from '../src/db/migrate.js';
import { createTemporaryDatabase, openPostgres } from '../src/db/postgres.js';
import { RateLimiter, type Limiter } from '../src/security/rate-limit.js';
import { SharedRateLimiter } from '../src/security/shared-rate-limit.js';

const { values: opts } = parseArgs({
  options: {
    'database-url': { type: 'string', default: 'postgres://postgres@127.0.0.1:5432/test' },
    takes: { type: 'string', default: '5000' },
    concurrency: { type: 'string', default: '16' },
  },
});
const takes = Number(opts.takes);
const concurrency = Number(opts.concurrency);
const RATE = 1_000_000_000; // never refuses: the cost of admitting is what is measured

interface Run {
  store: string;
  keys: number;
  concurrency: number;
  takesPerSecond: number;
  /** Microseconds per take, sequential runs only (what one request waits). */
  p50Micros?: number;
  p99Micros?: number;
}

async function run(store: string, limiter: Limiter, keys: number, inFlight: number): Promise<Run> {
  const key = (i: number) => `key:bench-${i % keys}`;
  for (let i = 0; i < 200; i++) await limiter.take(key(i), RATE); // warm-up
  const times: number[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next < takes) {
        const i = next++;
        const t = performance.now();
        await limiter.take(key(i), RATE);
        times.push(performance.now() - t);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  times.sort((a, b) => a - b);
  const at = (q: number) => Math.round(times[Math.floor(q * (times.length - 1))]! * 1000);
  return {
    store,
    keys,
    concurrency: inFlight,
    takesPerSecond: Math.round(takes / seconds),
    ...(inFlight === 1 && { p50Micros: at(0.5), p99Micros: at(0.99) }),
  };
}

const { url, drop } = await createTemporaryDatabase(opts['database-url'] as string, 'bench_limits');
const db = await openPostgres(url, concurrency);
const runs: Run[] = [];
try {
  await migrate(db, { EMBEDDING_DIM: 64 });
  const memory = new RateLimiter(200);
  const shared = new SharedRateLimiter(db, 200);
  for (const [store, limiter] of [
    ['memory', memory],
    ['database', shared],
  ] as const) {
    for (const keys of [1, 1000]) {
      for (const inFlight of [1, concurrency]) {
        const r = await run(store, limiter, keys, inFlight);
        console.error(JSON.stringify(r));
        runs.push(r);
      }
    }
  }
} finally {
  await db.close();
  await drop();
}
const date = new Date().toISOString().slice(0, 10);
const out = `bench/results/shared-limits-${date}.json`;
await writeFile(
  out,
  JSON.stringify(
    { date: new Date().toISOString(), takes, server: 'PostgreSQL 15, loopback', runs },
    null,
    2,
  ) + '\n',
);
console.error(`wrote ${out}`);
