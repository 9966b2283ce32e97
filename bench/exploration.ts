// Throughput cost of exploration and diversity: the same forecast query with and without the
// policy arguments, against the no-model floor, at one concurrency, in one run. Scenarios
// alternate round by round (A B C … A B C …) so that a busy machine affects them alike.
//
//   npx tsx bench/exploration.ts [--duration 10] [--concurrency 32] [--rounds 2]
//
// Uses (and on first use fills) the PostgreSQL database `foresight_exploration` on 127.0.0.1
// with the bundled Beauty sample; writes bench/results/exploration-<date>.json.
import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { drive, median, prepareBeautyUsers, startServer, type LoadResult } from './load.js';

const { values: opts } = parseArgs({
  options: {
    'database-url': {
      type: 'string',
      default: 'postgres://postgres@127.0.0.1:5432/foresight_exploration',
    },
    duration: { type: 'string', default: '10' },
    concurrency: { type: 'string', default: '32' },
    rounds: { type: 'string', default: '2' },
  },
});
const databaseUrl = opts['database-url'] as string;
const log = (msg: string) => console.error(`[bench] ${msg}`);

const FORECAST = (args: string) => `query($u: ID!) {
  interestForecast(userId: $u, first: 10${args}) {
    id policy items { rank score propensity item { id } } categories(first: 5) { probability category { id } } } }`;

const SCENARIOS: Record<string, string> = {
  'POPULARITY (no-model floor)': FORECAST(', mode: POPULARITY'),
  'MODEL, greedy (plain)': FORECAST(''),
  'MODEL + exploration (ε 0.1, pool 50)': FORECAST(', exploration: { epsilon: 0.1, pool: 50 }'),
  'MODEL + diversity MMR (λ 0.7, pool 50)': FORECAST(', diversity: { lambda: 0.7 }'),
  'MODEL + diversity cap (3 per category, pool 50)': FORECAST(', diversity: { maxPerCategory: 3 }'),
  'MODEL + MMR + cap + exploration': FORECAST(
    ', diversity: { lambda: 0.7, maxPerCategory: 3 }, exploration: { epsilon: 0.1, pool: 50 }',
  ),
};
const PLAIN = 'MODEL, greedy (plain)';

async function main(): Promise<void> {
  const users = await prepareBeautyUsers(databaseUrl);
  const server = await startServer({ DATABASE_URL: databaseUrl }, 4710);
  const concurrency = Number(opts.concurrency);
  const duration = Number(opts.duration);
  const rounds = Number(opts.rounds);
  const runs: Record<string, LoadResult[]> = {};
  try {
    for (const query of Object.values(SCENARIOS))
      await drive(server.url, users, concurrency, 2, query);
    for (let round = 0; round < rounds; round++)
      for (const [name, query] of Object.entries(SCENARIOS)) {
        const r = await drive(server.url, users, concurrency, duration, query);
        (runs[name] ??= []).push(r);
        log(`round ${round + 1} ${name}: ${r.reqPerSec.toFixed(1)} req/s, errors ${r.errors}`);
      }
  } finally {
    await server.stop();
  }
  const rate = (name: string) => median(runs[name]!.map((r) => r.reqPerSec));
  const plain = rate(PLAIN);
  const lines = [
    `| scenario (concurrency ${concurrency}, ${rounds} × ${duration} s) | req/s (median of rounds) | ratio to plain | p50 ms (median) | p99 ms (median) | errors |`,
    '|---|---|---|---|---|---|',
    ...Object.keys(SCENARIOS).map((name) => {
      const rs = runs[name]!;
      const errors = rs.reduce((a, r) => a + r.errors + r.non2xx, 0);
      return `| ${name} | ${rate(name).toFixed(1)} | ${(rate(name) / plain).toFixed(2)} | ${median(rs.map((r) => r.latencyMs.p50)).toFixed(1)} | ${median(rs.map((r) => r.latencyMs.p99)).toFixed(1)} | ${errors} |`;
    }),
  ];
  console.log(lines.join('\n'));
  const day = new Date().toISOString().slice(0, 10);
  await writeFile(
    `bench/results/exploration-${day}.json`,
    JSON.stringify({ at: new Date().toISOString(), concurrency, duration, rounds, runs }, null, 2) +
      '\n',
  );
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
