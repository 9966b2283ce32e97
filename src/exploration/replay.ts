// `npm run evaluate:replay`: serving policies replayed on real shoppers. Each Amazon sequence
// minus its last item is imported as the shopper's history (the model was trained with that
// item held out); every policy serves every shopper through the forecast engine (the serving
// path: retrieval, scoring, diversity, exploration, stored impression log); a served item
// counts as clicked when it is the shopper's real next item, recorded as feedback through the
// ingestion path. Reports per policy: HR@10 and NDCG@10, catalogue coverage, intra-list
// diversity (categories and embeddings), Gini of exposure; then off-policy estimates from the
// exploring policy's own logs (npm run evaluate:policy's estimators) against what greedy
// actually got on the same shoppers.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '../config.js';
import { categoryIdsOfDatasetItems } from '../db/categories.js';
import type { Db } from '../db/client.js';
import { recordEventBatch, type EventSubmission } from '../db/events.js';
import { migrate } from '../db/migrate.js';
import { forecastOutcomes } from '../db/outcomes.js';
import { openPglite } from '../db/pglite.js';
import { createTemporaryDatabase, openPostgres } from '../db/postgres.js';
import { ForecastEngine } from '../forecast/engine.js';
import type { Forecast, ForecastRequest } from '../forecast/forecast.js';
import { amazonDataset, importAmazon } from '../import/amazon.js';
import { Model } from '../inference/model.js';
import { syncItemEmbeddings } from '../serving/embeddings.js';
import { mulberry32, shuffleInPlace } from '../random.js';
import { similarity } from './diversity.js';
import { GREEDY, policyKey, type ServingPolicy } from './policy.js';
import { evaluatePolicies, reportTable } from '../evaluation/policy-reports.js';
import {
  catalogueCoverage,
  exposureGini,
  intraListDiversity,
} from '../evaluation/slate-metrics.js';
import { retrievalSettings } from '../db/retrieval.js';

const USAGE = `usage: npm run evaluate:replay -- --data <Name.txt> --attributes <Name_item2attributes.json>
  --model <dir> [--postgres URL] [--users N] [--epsilon 0.2] [--pool 20] [--lambda 0.7]
  [--cap 3] [--diversity-pool 50] [--out FILE.json] [--keep]
defaults: the bundled Beauty files and models/beauty, an embedded database; --postgres: a
PostgreSQL server on which a temporary database is created and dropped (kept with --keep, e.g.
for npm run evaluate:policy -- --database-url <its url>)`;

const FIRST = 10;
const BATCH = 256;

interface Arm {
  name: string;
  mode: 'MODEL' | 'POPULARITY';
  policy: ServingPolicy;
}

interface Shopper {
  userId: string;
  target: string;
}

export interface ArmResult {
  policy: string;
  key: string;
  forecasts: number;
  /** Mean items per slate (a category cap can leave slates short). */
  slateSize: number;
  hitRate: number;
  ndcg: number;
  coverage: number;
  ildCategories: number;
  ildEmbeddings: number;
  exposureGini: number;
  /** Clicks stored through the feedback path and counted by forecastOutcomes (a cross-check). */
  storedClicks: number;
}

/** A fresh database: embedded, or a temporary one on `postgres`, dropped unless `keep`. */
async function openReplayDb(
  postgres: string | undefined,
  keep: boolean,
): Promise<{ db: Db; dispose: () => Promise<void> }> {
  const settings = retrievalSettings(loadConfig(process.env).retrieval.efSearch);
  if (!postgres) {
    const db = await openPglite(undefined, settings);
    return { db, dispose: () => db.close() };
  }
  const { url, drop } = await createTemporaryDatabase(postgres, 'foresight_replay');
  const db = await openPostgres(url, 10, settings);
  return {
    db,
    dispose: async () => {
      await db.close();
      if (keep) console.error(`kept the replay's database: ${url}`);
      else await drop();
    },
  };
}

/** The shoppers (every sequence of ≥ 2 items, or a seeded sample of `users`) and their
 * histories file: each sequence minus its last item, under the original file name. */
async function prepareHistories(
  data: string,
  users: number,
  dir: string,
): Promise<{ shoppers: Shopper[]; file: string }> {
  const dataset = amazonDataset(data);
  const lines = (await readFile(data, 'utf8'))
    .split('\n')
    .map((l) => l.trim().split(/\s+/))
    .filter((t) => t.length >= 3); // a user id and at least two items
  let chosen = lines;
  if (users > 0 && users < lines.length) {
    const order = shuffleInPlace(
      lines.map((_, k) => k),
      mulberry32(20261203),
    );
    chosen = order
      .slice(0, users)
      .sort((a, b) => a - b)
      .map((k) => lines[k] as string[]);
  }
  const file = path.join(dir, path.basename(data));
  await writeFile(file, chosen.map((t) => t.slice(0, -1).join(' ')).join('\n') + '\n');
  const shoppers = chosen.map((t) => ({
    userId: `${dataset}:${t[0]}`,
    target: `${dataset}:${t[t.length - 1]}`,
  }));
  return { shoppers, file };
}

async function serveAll(
  engine: ForecastEngine,
  arm: Arm,
  shoppers: readonly Shopper[],
  excludeSeen: boolean,
  armIndex: number,
): Promise<Forecast[]> {
  const out: Forecast[] = [];
  for (let start = 0; start < shoppers.length; start += BATCH) {
    const requests: ForecastRequest[] = shoppers.slice(start, start + BATCH).map((s, k) => ({
      subject: { kind: 'user', userId: s.userId },
      first: FIRST,
      filter: {
        excludePurchased: true,
        excludeSeen,
        categoryIds: null,
        minPrice: null,
        maxPrice: null,
        inStockOnly: false,
      },
      explain: false,
      mode: arm.mode,
      context: null,
      // A seed per shopper (and arm): reproducible, and independent draws across shoppers.
      policy: arm.policy.exploration
        ? { ...arm.policy, seed: (armIndex * 1_000_003 + start + k) % 2 ** 31 }
        : arm.policy,
    }));
    const results = await engine.forecast(requests);
    for (const r of results) {
      if (r instanceof Error) throw r;
      out.push(r);
    }
  }
  return out;
}

/** Records a click (VIEW with the forecast's id) wherever a forecast showed the real next item. */
async function recordClicks(
  db: Db,
  shoppers: readonly Shopper[],
  forecasts: readonly Forecast[],
): Promise<void> {
  const clicks: EventSubmission[] = [];
  forecasts.forEach((f, k) => {
    const s = shoppers[k] as Shopper;
    if (!f.items.some((it) => it.itemId === s.target)) return;
    clicks.push({
      clientEventId: `replay-click:${f.id}`,
      type: 'VIEW',
      userId: s.userId,
      sessionId: null,
      itemId: s.target,
      query: null,
      occurredAt: null,
      forecastId: f.id,
    });
  });
  const at = new Date();
  for (let i = 0; i < clicks.length; i += 500)
    await recordEventBatch(db, clicks.slice(i, i + 500), at);
}

function armMetrics(
  arm: Arm,
  shoppers: readonly Shopper[],
  forecasts: readonly Forecast[],
  catalogue: Map<string, string[]>,
  model: Model,
): Omit<ArmResult, 'storedClicks'> {
  let hits = 0;
  let dcg = 0;
  forecasts.forEach((f, k) => {
    const rank = f.items.findIndex((it) => it.itemId === (shoppers[k] as Shopper).target);
    if (rank >= 0) {
      hits++;
      dcg += 1 / Math.log2(rank + 2);
    }
  });
  const slates = forecasts.map((f) => f.items.map((it) => it.itemId));
  const embedding = (id: string) => model.knownItem(id)?.embedding ?? null;
  const candidate = (id: string, withEmbedding: boolean) => ({
    id,
    score: 0,
    categoryIds: catalogue.get(id) ?? [],
    embedding: withEmbedding ? embedding(id) : null,
  });
  return {
    policy: arm.name,
    key: arm.mode === 'POPULARITY' ? 'popularity' : policyKey(arm.policy),
    forecasts: forecasts.length,
    slateSize: slates.reduce((a, x) => a + x.length, 0) / forecasts.length,
    hitRate: hits / forecasts.length,
    ndcg: dcg / forecasts.length,
    coverage: catalogueCoverage(slates, catalogue.size),
    ildCategories: intraListDiversity(
      slates,
      (a, b) => 1 - similarity(candidate(a, false), candidate(b, false)),
    ),
    ildEmbeddings: intraListDiversity(
      slates.map((s) => s.filter((id) => embedding(id) !== null)),
      (a, b) => 1 - similarity(candidate(a, true), candidate(b, true)),
    ),
    exposureGini: exposureGini(slates, catalogue.size),
  };
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
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
      help: { type: 'boolean' },
    },
  });
  if (values.help) {
    console.error(USAGE);
    return 0;
  }
  const [users, epsilon, pool, lambda, cap, divPool] = [
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
    !(Number.isInteger(divPool) && divPool >= FIRST)
  ) {
    console.error(
      `--users ≥ 0, --epsilon in (0, 1], --pool ≥ 1, --lambda in [0, 1), --cap ≥ 1 and ` +
        `--diversity-pool ≥ ${FIRST} (integers but ε and λ)\n${USAGE}`,
    );
    return 2;
  }
  const arms: Arm[] = [
    { name: 'popularity', mode: 'POPULARITY', policy: GREEDY },
    { name: 'model', mode: 'MODEL', policy: GREEDY },
    {
      name: `model + ε-greedy (ε ${epsilon}, pool ${pool})`,
      mode: 'MODEL',
      policy: { exploration: { epsilon, pool }, diversity: null, seed: null },
    },
    {
      name: `model + MMR (λ ${lambda})`,
      mode: 'MODEL',
      policy: {
        exploration: null,
        diversity: { lambda, maxPerCategory: null, pool: divPool },
        seed: null,
      },
    },
    {
      name: `model + cap (${cap} per category)`,
      mode: 'MODEL',
      policy: {
        exploration: null,
        diversity: { lambda: null, maxPerCategory: cap, pool: divPool },
        seed: null,
      },
    },
  ];

  const config = loadConfig(process.env);
  const dir = await mkdtemp(path.join(tmpdir(), 'foresight-replay-'));
  const { db, dispose } = await openReplayDb(values.postgres, values.keep ?? false);
  const model = await Model.load(values.model, 'cpu', config.inference.threads);
  const engine = new ForecastEngine(db, model, {
    batching: config.inference,
    retrieval: config.retrieval,
  });
  const dataset = amazonDataset(values.data);
  const t0 = performance.now();
  let results: ArmResult[];
  let ope: string;
  try {
    await migrate(db, { EMBEDDING_DIM: model.manifest.dim });
    const { shoppers, file } = await prepareHistories(values.data, users, dir);
    await importAmazon(db, { sequences: [file], attributes: [values.attributes] });
    await syncItemEmbeddings(db, model);
    console.error(`${dataset}: ${shoppers.length} shoppers imported and embedded`);
    const catalogue = await categoryIdsOfDatasetItems(db, dataset);
    const excludeSeen = model.manifest.scorer?.excludeHistory ?? false;
    const served: Forecast[][] = [];
    for (const [i, arm] of arms.entries()) {
      const started = performance.now();
      served.push(await serveAll(engine, arm, shoppers, excludeSeen, i));
      const s = (performance.now() - started) / 1000;
      console.error(`${arm.name}: ${shoppers.length} forecasts in ${s.toFixed(1)} s`);
    }
    // Feedback only after every arm has served: a recorded click joins the shopper's history.
    for (const f of served) await recordClicks(db, shoppers, f);
    const outcomes = await forecastOutcomes(db, null, null);
    results = arms.map((arm, i) => {
      const m = armMetrics(arm, shoppers, served[i] as Forecast[], catalogue, model);
      const version = (served[i] as Forecast[])[0]?.modelVersion;
      const key = arm.mode === 'POPULARITY' ? 'greedy' : m.key;
      const o = outcomes.find((x) => x.modelVersion === version && x.policy === key);
      return { ...m, storedClicks: o?.clicks ?? 0 };
    });
    const exploring = policyKey(arms[2]!.policy);
    const reports = await evaluatePolicies(
      db,
      { since: null, until: null, modelVersion: model.version, policy: exploring },
      [0, epsilon],
      ['click'],
    );
    const greedy = outcomes.find((o) => o.modelVersion === model.version && o.policy === 'greedy');
    ope =
      reportTable(reports) +
      `\n\nactual click rate per impression of greedy on the same shoppers: ` +
      `${greedy ? (greedy.clicks / greedy.impressions).toFixed(4) : '–'} ` +
      `(${greedy?.clicks ?? 0} clicks / ${greedy?.impressions ?? 0} impressions)`;
    if (values.out)
      await writeFile(
        values.out,
        JSON.stringify(
          { dataset, model: model.version, shoppers: shoppers.length, results, ope: reports },
          null,
          2,
        ) + '\n',
      );
  } finally {
    engine.close();
    await model.release();
    await dispose();
    await rm(dir, { recursive: true, force: true });
  }
  const f = (x: number) => (Number.isFinite(x) ? x.toFixed(4) : '–');
  console.log(
    `\n${dataset}, model ${model.version}, ${results[0]?.forecasts} shoppers, ` +
      `${((performance.now() - t0) / 1000).toFixed(0)} s\n`,
  );
  console.log(
    '| policy | slate size | HR@10 | NDCG@10 | coverage | ILD (categories) | ILD (embeddings) | exposure Gini | stored clicks |',
  );
  console.log('|---|---|---|---|---|---|---|---|---|');
  for (const r of results)
    console.log(
      `| ${r.policy} | ${r.slateSize.toFixed(2)} | ${f(r.hitRate)} | ${f(r.ndcg)} | ${f(r.coverage)} | ${f(r.ildCategories)} | ${f(r.ildEmbeddings)} | ${f(r.exposureGini)} | ${r.storedClicks} |`,
    );
  console.log(`\noff-policy estimates from the ε-greedy logs:\n\n${ope}`);
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
