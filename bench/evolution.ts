// Throughput of the interest-evolution fields and of cold-start forecasts, each against the
// same machine's no-model floor (`mode: POPULARITY`) and the model forecast, in one run:
//
//   npx tsx bench/evolution.ts [--duration 10] [--concurrency 8] [--only trending]
//
// Uses (and on first use fills) the PostgreSQL database `foresight_evolution` on 127.0.0.1
// with the bundled Beauty sample and ../shared/data/diginetica; writes
// bench/results/evolution-<date>.json.
import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { drive, ensureDatabase, importFiles, startServer, type LoadResult } from './load.js';

const { values: opts } = parseArgs({
  options: {
    'database-url': {
      type: 'string',
      default: 'postgres://postgres@127.0.0.1:5432/foresight_evolution',
    },
    duration: { type: 'string', default: '10' },
    concurrency: { type: 'string', default: '8' },
    /** Run only the scenarios whose name contains this (the floor always runs). */
    only: { type: 'string', default: '' },
  },
});
const databaseUrl = opts['database-url'] as string;
const log = (msg: string) => console.error(`[bench] ${msg}`);

const FORECAST = (mode: string) => `query($u: ID!) {
  interestForecast(userId: $u, first: 10, mode: ${mode}) {
    id strategy items { rank score item { id } } categories(first: 5) { probability category { id } } } }`;

/** Scenario → [query, user sample]. */
const SCENARIOS: Record<string, [string, 'beauty' | 'diginetica' | 'cold' | 'none']> = {
  'forecast POPULARITY (no-model floor)': [FORECAST('POPULARITY'), 'beauty'],
  'forecast MODEL': [FORECAST('MODEL'), 'beauty'],
  'forecast, cold start (no events: segment popularity)': [FORECAST('MODEL'), 'cold'],
  'interestTimeline EVENTS (Beauty)': [
    `query($u: ID!) { user(id: $u) { interestTimeline(bucket: EVENTS, size: 5) {
      buckets { firstPosition eventCount categories(first: 5) { share category { id } } } } } }`,
    'beauty',
  ],
  'interestTimeline WEEK (DIGINETICA)': [
    `query($u: ID!) { user(id: $u) { interestTimeline(bucket: WEEK) {
      buckets { start eventCount categories(first: 5) { share category { id } } } } } }`,
    'diginetica',
  ],
  'interestDrift (Beauty)': [
    `query($u: ID!) { user(id: $u) { interestDrift(recent: 5) {
      score migrating gained { category { id } change } lost { category { id } change } } } }`,
    'beauty',
  ],
  'trendingCategories (DIGINETICA, 7 days)': [
    `query { trendingCategories(dataset: "diginetica", window: 7, first: 10, minSupport: 5) {
      categories { category { id } recentCount growth } } }`,
    'none',
  ],
  'trendingItems (DIGINETICA, 28 days)': [
    `query { trendingItems(dataset: "diginetica", window: 28, first: 10, minSupport: 2) {
      items { item { id } recentCount growth } } }`,
    'none',
  ],
};

async function prepare(): Promise<Record<string, string[]>> {
  await ensureDatabase(databaseUrl);
  const db = new pg.Client({ connectionString: databaseUrl });
  await db.connect();
  const has = async (dataset: string) =>
    (
      await db
        .query('SELECT 1 FROM events WHERE dataset = $1 LIMIT 1', [dataset])
        .catch(() => ({ rowCount: 0 }))
    ).rowCount! > 0;
  const run = (format: string, files: string[]) => importFiles(databaseUrl, format, files);
  if (!(await has('beauty')))
    run('amazon', ['data/amazon/Beauty.txt', 'data/amazon/Beauty_item2attributes.json']);
  if (!(await has('diginetica')))
    run(
      'diginetica',
      ['product-categories.csv', 'train-purchases.csv', 'sample-train-item-views.csv'].map(
        (f) => `../shared/data/diginetica/${f}`,
      ),
    );
  // Cold-start shoppers: 500 users without events in 5 profile segments; 50 real Beauty users
  // (about 10 per segment, with their histories) give the segments their interactions.
  const segments = ['DE', 'FR', 'IT', 'ES', 'NL'];
  await db.query(
    `INSERT INTO users (id, dataset, profile)
     SELECT 'beauty:cold' || g, 'beauty', jsonb_build_object('country', ($1::text[])[(g % 5) + 1])
     FROM generate_series(0, 499) g ON CONFLICT DO NOTHING`,
    [segments],
  );
  await db.query(
    `UPDATE users SET profile = jsonb_build_object('country', ($1::text[])[(abs(hashtext(id)) % 5) + 1])
     WHERE id IN (SELECT id FROM users WHERE dataset = 'beauty' AND id NOT LIKE 'beauty:cold%'
                  ORDER BY md5(id) LIMIT 50) AND profile = '{}'::jsonb`,
    [segments],
  );
  const sample = async (sql: string) => (await db.query<{ id: string }>(sql)).rows.map((r) => r.id);
  const users = {
    beauty: await sample(
      `SELECT id FROM users WHERE dataset = 'beauty' AND id NOT LIKE 'beauty:cold%' ORDER BY md5(id) LIMIT 5000`,
    ),
    diginetica: await sample(
      `SELECT user_id AS id FROM events WHERE dataset = 'diginetica' AND user_id IS NOT NULL
       GROUP BY user_id ORDER BY md5(user_id) LIMIT 5000`,
    ),
    cold: await sample(`SELECT id FROM users WHERE id LIKE 'beauty:cold%'`),
    none: ['-'],
  };
  await db.end();
  return users;
}

async function main(): Promise<void> {
  const users = await prepare();
  const server = await startServer({ DATABASE_URL: databaseUrl }, 4700);
  const concurrency = Number(opts.concurrency);
  const duration = Number(opts.duration);
  const results: Record<string, LoadResult> = {};
  try {
    for (const [name, [query, sample]] of Object.entries(SCENARIOS)) {
      if (opts.only && !name.includes(opts.only) && !name.includes('no-model floor')) continue;
      await drive(server.url, users[sample]!, concurrency, 2, query); // warm-up
      results[name] = await drive(server.url, users[sample]!, concurrency, duration, query);
      log(`${name}: ${results[name]!.reqPerSec.toFixed(1)} req/s, errors ${results[name]!.errors}`);
    }
  } finally {
    await server.stop();
  }
  const floor = results['forecast POPULARITY (no-model floor)']!.reqPerSec;
  const lines = [
    `| scenario (concurrency ${concurrency}, ${duration} s) | req/s | ratio to POPULARITY | p50 ms | p99 ms | errors |`,
    '|---|---|---|---|---|---|',
    ...Object.entries(results).map(
      ([name, r]) =>
        `| ${name} | ${r.reqPerSec.toFixed(1)} | ${(r.reqPerSec / floor).toFixed(2)} | ${r.latencyMs.p50} | ${r.latencyMs.p99} | ${r.errors} |`,
    ),
  ];
  console.log(lines.join('\n'));
  const day = new Date().toISOString().slice(0, 10);
  await writeFile(
    `bench/results/evolution-${day}.json`,
    JSON.stringify({ at: new Date().toISOString(), concurrency, duration, results }, null, 2) +
      '\n',
  );
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
