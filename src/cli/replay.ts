// `npm run evaluate:replay`: serving policies replayed on real shoppers through the forecast
// engine (evaluation/policy-replay.ts); a Markdown table of the policies' metrics, then the
// off-policy estimates from the ε-greedy logs against what greedy actually got.
import { writeFile } from 'node:fs/promises';
import { loadConfig } from '../config.js';
import { reportTable } from '../evaluation/policy-reports.js';
import { replayPolicies, SLATE_SIZE, type PolicyReplay } from '../evaluation/policy-replay.js';
import { Model } from '../inference/model.js';
import { runCommand, UsageError, type CommandLine } from './run.js';

const USAGE = `usage: npm run evaluate:replay -- --data <Name.txt> --attributes <Name_item2attributes.json>
  --model <dir> [--postgres URL] [--users N] [--epsilon 0.2] [--pool 20] [--lambda 0.7]
  [--cap 3] [--diversity-pool 50] [--out FILE.json] [--keep]
defaults: the bundled Beauty files and models/beauty, an embedded database; --postgres: a
PostgreSQL server on which a temporary database is created and dropped (kept with --keep, e.g.
for npm run evaluate:policy -- --database-url <its url>)`;

const OPTIONS = {
  data: { type: 'string', default: 'data/amazon/Beauty.txt' },
  attributes: { type: 'string', default: 'data/amazon/Beauty_item2attributes.json' },
  model: { type: 'string', default: 'models/beauty' },
  postgres: { type: 'string' },
  users: { type: 'string', default: '0' },
  epsilon: { type: 'string', default: '0.2' },
  pool: { type: 'string', default: '20' },
  lambda: { type: 'string', default: '0.7' },
  cap: { type: 'string', default: '3' },
  'diversity-pool': { type: 'string', default: '50' },
  out: { type: 'string' },
  keep: { type: 'boolean' },
} as const;

function print(replay: PolicyReplay, seconds: number): void {
  const f = (x: number) => (Number.isFinite(x) ? x.toFixed(4) : '–');
  const { results, greedy } = replay;
  console.log(
    `\n${replay.dataset}, model ${replay.modelVersion}, ${results[0]?.forecasts} shoppers, ` +
      `${seconds.toFixed(0)} s\n`,
  );
  console.log(
    '| policy | slate size | HR@10 | NDCG@10 | coverage | ILD (categories) | ILD (embeddings) | exposure Gini | stored clicks |',
  );
  console.log('|---|---|---|---|---|---|---|---|---|');
  for (const r of results)
    console.log(
      `| ${r.policy} | ${r.slateSize.toFixed(2)} | ${f(r.hitRate)} | ${f(r.ndcg)} | ${f(r.coverage)} | ${f(r.ildCategories)} | ${f(r.ildEmbeddings)} | ${f(r.exposureGini)} | ${r.storedClicks} |`,
    );
  const ope =
    reportTable(replay.ope) +
    `\n\nactual click rate per impression of greedy on the same shoppers: ` +
    `${greedy ? (greedy.clicks / greedy.impressions).toFixed(4) : '–'} ` +
    `(${greedy?.clicks ?? 0} clicks / ${greedy?.impressions ?? 0} impressions)`;
  console.log(`\noff-policy estimates from the ε-greedy logs:\n\n${ope}`);
}

async function main({ values }: CommandLine<typeof OPTIONS>) {
  const [users, epsilon, pool, lambda, cap, diversityPool] = [
    values.users,
    values.epsilon,
    values.pool,
    values.lambda,
    values.cap,
    values['diversity-pool'],
  ].map(Number) as [number, number, number, number, number, number];
  if (
    !(Number.isInteger(users) && users >= 0) ||
    !(epsilon > 0 && epsilon <= 1) ||
    !(Number.isInteger(pool) && pool > 0) ||
    !(lambda >= 0 && lambda < 1) ||
    !(Number.isInteger(cap) && cap > 0) ||
    !(Number.isInteger(diversityPool) && diversityPool >= SLATE_SIZE)
  )
    throw new UsageError(
      `--users ≥ 0, --epsilon in (0, 1], --pool ≥ 1, --lambda in [0, 1), --cap ≥ 1 and ` +
        `--diversity-pool ≥ ${SLATE_SIZE} (integers but ε and λ)`,
    );
  const config = loadConfig(process.env);
  const model = await Model.load(values.model, 'cpu', config.inference.threads);
  const t0 = performance.now();
  let replay: PolicyReplay;
  try {
    replay = await replayPolicies({
      data: values.data,
      attributes: values.attributes,
      users,
      model,
      settings: { epsilon, pool, lambda, cap, diversityPool },
      config,
      postgres: values.postgres,
      keep: values.keep ?? false,
      log: (line) => console.error(line),
    });
  } finally {
    await model.release();
  }
  if (values.out) {
    const { dataset, modelVersion: model, shoppers, results, ope } = replay;
    const out = { dataset, model, shoppers, results, ope };
    await writeFile(values.out, JSON.stringify(out, null, 2) + '\n');
  }
  print(replay, (performance.now() - t0) / 1000);
}

runCommand({ usage: USAGE, options: OPTIONS, main });
