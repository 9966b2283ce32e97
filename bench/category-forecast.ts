// The next-category forecast measured through the API (issue 31's protocol): 2,000 random Beauty
// shoppers, each forecast anonymously from their sequence minus its last item (`recentEvents`);
// a hit is the last item's most specific category (the forecaster's own: for Beauty the deepest
// category of the item's path) among the served top k.
// The rules are computed from the same histories with the forecaster's own tables
// (src/inference/category/rules.ts), ties broken by popularity as offline.
//
//   npx tsx bench/category-forecast.ts [--users 2000] [--model models/beauty]
//
// Uses the PostgreSQL database `foresight_category` on 127.0.0.1 (recreated each run); writes
// bench/results/category-forecast-<date>.json.
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { categorySpecSchema } from '../src/inference/category/spec.js';
import { ruleDistributions, type RuleName } from '../src/inference/category/rules.js';
import { gql, importFiles, recreateDatabase, startServer } from './load.js';

const { values: opts } = parseArgs({
  options: {
    model: { type: 'string', default: 'models/beauty' },
    users: { type: 'string', default: '2000' },
    'database-url': {
      type: 'string',
      default: 'postgres://postgres@127.0.0.1:5432/foresight_category',
    },
    concurrency: { type: 'string', default: '4' },
  },
});
const modelDir = path.resolve(opts.model as string);
const databaseUrl = opts['database-url'] as string;

const RULES: RuleName[] = ['last', 'recency', 'session', 'transitions', 'popularity'];

const FORECAST = `query($e: [AnonymousEventInput!]) { interestForecast(recentEvents: $e, first: 1) {
  categoryStrategy categories(first: 5) { probability category { id } } } }`;

/** The k categories a rule ranks first: its scores, ties (and zeros) by popularity. */
function topOf(dist: Float64Array, popularity: Float64Array, k: number): number[] {
  const order = Array.from({ length: dist.length - 1 }, (_, j) => j + 1);
  const s = (c: number) => (dist[c] as number) + 1e-6 * (popularity[c] as number);
  order.sort((a, b) => s(b) - s(a) || a - b);
  return order.slice(0, k);
}

async function main(): Promise<void> {
  const spec = categorySpecSchema.parse(
    JSON.parse(await readFile(path.join(modelDir, 'category.json'), 'utf8')),
  );
  const popularity = Float64Array.from(spec.popularity);
  const lines = (await readFile('data/amazon/Beauty.txt', 'utf8')).trim().split('\n');
  let seed = 31;
  const users = lines
    .map((l) => ({ l, key: (seed = (seed * 1103515245 + 12345) & 0x7fffffff) }))
    .sort((a, b) => a.key - b.key)
    .slice(0, Number(opts.users))
    .map(({ l }) =>
      l
        .split(' ')
        .slice(1)
        .map((i) => `beauty:${i}`),
    );

  console.error(`[category-forecast] importing Beauty, then ${users.length} forecasts`);
  await recreateDatabase(databaseUrl);
  importFiles(databaseUrl, 'amazon', [
    'data/amazon/Beauty.txt',
    'data/amazon/Beauty_item2attributes.json',
  ]);
  const server = await startServer({ DATABASE_URL: databaseUrl, MODEL_DIR: modelDir }, 4702);
  const hits: Record<string, [number, number]> = { served: [0, 0] };
  for (const r of RULES) hits[r] = [0, 0];
  const strategies = new Set<string>();
  try {
    let next = 0;
    const worker = async () => {
      while (next < users.length) {
        const items = users[next++]!;
        const input = items.slice(0, -1);
        const target = spec.categories[(spec.itemCategories[items[items.length - 1]!] ?? 0) - 1];
        const d = await gql<{
          interestForecast: {
            categoryStrategy: string;
            categories: { category: { id: string } }[];
          };
        }>(server.url, FORECAST, { e: input.map((itemId) => ({ itemId, type: 'PURCHASE' })) });
        strategies.add(d.interestForecast.categoryStrategy);
        const served = d.interestForecast.categories.map((c) => c.category.id);
        hits.served![0] += served[0] === target ? 1 : 0;
        hits.served![1] += served.includes(target as string) ? 1 : 0;
        const known = input.slice(-spec.rules.maxEvents);
        const cats = known.map((i) => spec.itemCategories[i] as number);
        const rules = ruleDistributions(
          spec,
          popularity,
          cats,
          cats.map(() => null),
        );
        for (const r of RULES) {
          const top = topOf(rules[r], popularity, 5).map((c) => spec.categories[c - 1]);
          hits[r]![0] += top[0] === target ? 1 : 0;
          hits[r]![1] += top.includes(target as string) ? 1 : 0;
        }
      }
    };
    await Promise.all(Array.from({ length: Number(opts.concurrency) }, worker));
  } finally {
    await server.stop();
  }
  const n = users.length;
  const result = {
    at: new Date().toISOString(),
    model: modelDir,
    users: n,
    level: "the target's most specific category as the forecaster's itemCategories give it",
    categoryStrategy: [...strategies],
    top1: Object.fromEntries(Object.entries(hits).map(([k, v]) => [k, v[0] / n])),
    top5: Object.fromEntries(Object.entries(hits).map(([k, v]) => [k, v[1] / n])),
  };
  console.log(JSON.stringify(result, null, 2));
  await writeFile(
    `bench/results/category-forecast-${result.at.slice(0, 10)}.json`,
    JSON.stringify(result, null, 2) + '\n',
  );
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
