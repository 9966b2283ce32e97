// Serving policies replayed on real shoppers. Each Amazon sequence minus its last item is
// imported as the shopper's history (the model was trained with that item held out); every
// policy serves every shopper through the forecast engine (the serving path: retrieval,
// scoring, diversity, exploration, stored impression log); a served item counts as clicked when
// it is the shopper's real next item, recorded as feedback through the ingestion path. Per
// policy: HR@10 and NDCG@10, catalogue coverage, intra-list diversity (categories and
// embeddings), Gini of exposure; then off-policy estimates from the exploring policy's own logs
// (evaluation/policy-reports.ts) against what greedy actually got on the same shoppers.
// `npm run evaluate:replay` runs it.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Config } from '../config.js';
import { categoryIdsOfDatasetItems } from '../db/categories.js';
import type { Db } from '../db/client.js';
import { recordEventBatch, type EventSubmission } from '../db/events.js';
import { migrate } from '../db/migrate.js';
import { forecastOutcomes } from '../db/outcomes.js';
import { openPglite } from '../db/pglite.js';
import { createTemporaryDatabase, openPostgres } from '../db/postgres.js';
import { retrievalSettings } from '../db/retrieval.js';
import { similarity } from '../exploration/diversity.js';
import { GREEDY, policyKey, type ServingPolicy } from '../exploration/policy.js';
import { ForecastEngine } from '../forecast/engine.js';
import type { Forecast, ForecastRequest } from '../forecast/forecast.js';
import { amazonDataset, importAmazon } from '../import/amazon.js';
import type { Model } from '../inference/model.js';
import { mulberry32, shuffleInPlace } from '../random.js';
import { syncItemEmbeddings } from '../serving/embeddings.js';
import { evaluatePolicies, type PolicyReport } from './policy-reports.js';
import { catalogueCoverage, exposureGini, intraListDiversity } from './slate-metrics.js';

/** Items per served slate (HR@10, NDCG@10). */
export const SLATE_SIZE = 10;
const BATCH = 256;

/** The policies' parameters: ε-greedy's ε and pool, MMR's λ, the category cap, their pool. */
export interface ReplaySettings {
  epsilon: number;
  pool: number;
  lambda: number;
  cap: number;
  diversityPool: number;
}

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

export interface PolicyReplay {
  dataset: string;
  modelVersion: string;
  shoppers: number;
  /** One per policy: popularity, the model, ε-greedy, MMR, the category cap. */
  results: ArmResult[];
  /** Off-policy estimates of ε′ = 0 (greedy) and ε from the ε-greedy policy's logs. */
  ope: PolicyReport[];
  /** What greedy actually got on the same shoppers (null: no greedy impressions stored). */
  greedy: { clicks: number; impressions: number } | null;
}

export interface ReplayOptions {
  /** The Amazon sequences file (`<Name>.txt`) and its attributes (`<Name>_item2attributes.json`). */
  data: string;
  attributes: string;
  /** Shoppers to replay: a seeded sample of this many sequences; 0 = all of them. */
  users: number;
  model: Model;
  settings: ReplaySettings;
  config: Pick<Config, 'inference' | 'retrieval'>;
  /** A PostgreSQL server to create a temporary database on; none: an embedded database. */
  postgres?: string | undefined;
  /** Keep the temporary PostgreSQL database (e.g. for evaluate:policy on its logs). */
  keep?: boolean;
  /** Progress lines. */
  log?: (line: string) => void;
}

/** Popularity and the model greedy, then the model under each policy of `s`. */
function replayArms(s: ReplaySettings): Arm[] {
  return [
    { name: 'popularity', mode: 'POPULARITY', policy: GREEDY },
    { name: 'model', mode: 'MODEL', policy: GREEDY },
    {
      name: `model + ε-greedy (ε ${s.epsilon}, pool ${s.pool})`,
      mode: 'MODEL',
      policy: { exploration: { epsilon: s.epsilon, pool: s.pool }, diversity: null, seed: null },
    },
    {
      name: `model + MMR (λ ${s.lambda})`,
      mode: 'MODEL',
      policy: {
        exploration: null,
        diversity: { lambda: s.lambda, maxPerCategory: null, pool: s.diversityPool },
        seed: null,
      },
    },
    {
      name: `model + cap (${s.cap} per category)`,
      mode: 'MODEL',
      policy: {
        exploration: null,
        diversity: { lambda: null, maxPerCategory: s.cap, pool: s.diversityPool },
        seed: null,
      },
    },
  ];
}

/** A fresh database: embedded, or a temporary one on `postgres`, dropped unless `keep`. */
async function openReplayDb(
  postgres: string | undefined,
  keep: boolean,
  efSearch: number,
  log: (line: string) => void,
): Promise<{ db: Db; dispose: () => Promise<void> }> {
  const settings = retrievalSettings(efSearch);
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
      if (keep) log(`kept the replay's database: ${url}`);
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
      first: SLATE_SIZE,
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

/** Replays every policy on the shoppers of `options.data` in a fresh database (see above). */
export async function replayPolicies(options: ReplayOptions): Promise<PolicyReplay> {
  const { model, settings, config, log = () => {} } = options;
  const arms = replayArms(settings);
  const dataset = amazonDataset(options.data);
  const dir = await mkdtemp(path.join(tmpdir(), 'foresight-replay-'));
  const { db, dispose } = await openReplayDb(
    options.postgres,
    options.keep ?? false,
    config.retrieval.efSearch,
    log,
  );
  const engine = new ForecastEngine(db, model, {
    batching: config.inference,
    retrieval: config.retrieval,
  });
  try {
    await migrate(db, { EMBEDDING_DIM: model.manifest.dim });
    const { shoppers, file } = await prepareHistories(options.data, options.users, dir);
    await importAmazon(db, { sequences: [file], attributes: [options.attributes] });
    await syncItemEmbeddings(db, model);
    log(`${dataset}: ${shoppers.length} shoppers imported and embedded`);
    const catalogue = await categoryIdsOfDatasetItems(db, dataset);
    const excludeSeen = model.manifest.scorer?.excludeHistory ?? false;
    const served: Forecast[][] = [];
    for (const [i, arm] of arms.entries()) {
      const started = performance.now();
      served.push(await serveAll(engine, arm, shoppers, excludeSeen, i));
      const s = (performance.now() - started) / 1000;
      log(`${arm.name}: ${shoppers.length} forecasts in ${s.toFixed(1)} s`);
    }
    // Feedback only after every arm has served: a recorded click joins the shopper's history.
    for (const f of served) await recordClicks(db, shoppers, f);
    const outcomes = await forecastOutcomes(db, null, null);
    const results = arms.map((arm, i) => {
      const m = armMetrics(arm, shoppers, served[i] as Forecast[], catalogue, model);
      const version = (served[i] as Forecast[])[0]?.modelVersion;
      const key = arm.mode === 'POPULARITY' ? 'greedy' : m.key;
      const o = outcomes.find((x) => x.modelVersion === version && x.policy === key);
      return { ...m, storedClicks: o?.clicks ?? 0 };
    });
    const exploring = policyKey(arms[2]!.policy);
    const ope = await evaluatePolicies(
      db,
      { since: null, until: null, modelVersion: model.version, policy: exploring },
      [0, settings.epsilon],
      ['click'],
    );
    const greedy = outcomes.find((o) => o.modelVersion === model.version && o.policy === 'greedy');
    return {
      dataset,
      modelVersion: model.version,
      shoppers: shoppers.length,
      results,
      ope,
      greedy: greedy ? { clicks: greedy.clicks, impressions: greedy.impressions } : null,
    };
  } finally {
    await engine.close();
    await dispose();
    await rm(dir, { recursive: true, force: true });
  }
}
