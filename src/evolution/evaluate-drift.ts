// `npm run evaluate:drift`: does a high drift score predict that a shopper's next item lies
// outside their long-term top categories? Imports the data sets into a temporary embedded
// database with the real importers, reads every user's history through the serving read path
// (db/interests.ts) and scores it with the serving function (interestDrift). Leave-one-out:
// the threshold is chosen on validation targets (each history's second-to-last event), the
// lift is reported on test targets (the last event).
import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import type { Db } from '../db/client.js';
import { categorisedHistories } from '../db/interests.js';
import { migrate } from '../db/migrate.js';
import { openPglite } from '../db/pglite.js';
import { datasetsWithUsers, userIdsOfDataset } from '../db/users.js';
import { classifyAmazonFiles, importAmazon } from '../import/amazon.js';
import { importDiginetica } from '../import/diginetica.js';
import { DRIFT, interestDrift, type CategorisedEvent } from './distribution.js';
import { bootstrapInterval } from '../random.js';

const USAGE = `usage: npm run evaluate:drift -- [--amazon <seq.txt,attrs.json>]… [--diginetica <file,…>]
  [--recent 3,5,10] [--top 3] [--out models/drift-metrics.json]
defaults: the bundled Beauty sample and ../shared/data/diginetica/*.csv`;

const TOP = 3;
const GRID = Array.from({ length: 19 }, (_, k) => (k + 1) / 20);

interface Observation {
  score: number;
  /** The target has none of the long-term window's top categories. */
  outside: boolean;
}

/** Scores of (history, target) pairs: `back` = 1 for test targets, 2 for validation ones. */
function observations(
  histories: CategorisedEvent[][],
  recent: number,
  back: 1 | 2,
  top: number,
): Observation[] {
  const out: Observation[] = [];
  for (const events of histories) {
    const categorised = events.filter((e) => e.categoryIds.length > 0);
    const target = categorised[categorised.length - back];
    if (!target) continue;
    const drift = interestDrift(categorised.slice(0, categorised.length - back), recent);
    if (!drift) continue;
    const tops = new Set(drift.longTerm.slice(0, top).map((c) => c.categoryId));
    out.push({ score: drift.score, outside: !target.categoryIds.some((c) => tops.has(c)) });
  }
  return out;
}

function rates(obs: readonly Observation[], threshold: number) {
  const hi = obs.filter((o) => o.score >= threshold);
  const lo = obs.filter((o) => o.score < threshold);
  const rate = (xs: Observation[]) =>
    xs.length ? xs.filter((o) => o.outside).length / xs.length : NaN;
  const pos = obs.filter((o) => o.outside).length;
  const tpr = pos ? hi.filter((o) => o.outside).length / pos : NaN;
  const fpr = obs.length - pos ? hi.filter((o) => !o.outside).length / (obs.length - pos) : NaN;
  return {
    migrating: hi.length,
    outsideIfMigrating: rate(hi),
    outsideIfNot: rate(lo),
    lift: rate(hi) / rate(lo),
    youden: tpr - fpr,
  };
}

/** Probability that a random outside target scores higher than a random inside one. */
function auc(obs: readonly Observation[]): number {
  const sorted = [...obs].sort((a, b) => a.score - b.score);
  let rankSum = 0;
  let i = 0;
  while (i < sorted.length) {
    let j = i;
    while (j < sorted.length && sorted[j]!.score === sorted[i]!.score) j++;
    const mid = (i + j + 1) / 2; // average 1-based rank of the tie group
    for (let k = i; k < j; k++) if (sorted[k]!.outside) rankSum += mid;
    i = j;
  }
  const pos = obs.filter((o) => o.outside).length;
  const neg = obs.length - pos;
  return (rankSum - (pos * (pos + 1)) / 2) / (pos * neg);
}

async function histories(db: Db, dataset: string): Promise<CategorisedEvent[][]> {
  const users = await userIdsOfDataset(db, dataset);
  const out: CategorisedEvent[][] = [];
  for (let k = 0; k < users.length; k += 1000) {
    const ids = users.slice(k, k + 1000);
    const found = await categorisedHistories(db, 'user', ids, 5000);
    for (const id of ids) out.push(found.get(id)?.events ?? []);
  }
  return out;
}

/** 95 % bootstrap interval of `stat` over users (src/random.ts). */
function bootstrap(
  obs: readonly Observation[],
  stat: (o: Observation[]) => number,
): [number, number] {
  return bootstrapInterval(obs, stat);
}

function evaluate(hs: CategorisedEvent[][], recent: number, top: number) {
  const valid = observations(hs, recent, 2, top);
  const test = observations(hs, recent, 1, top);
  // Youden's J (true-positive minus false-positive rate) on validation: a threshold that does
  // not depend on the base rate of outside targets, unlike a maximum of the lift itself.
  let best = GRID[0]!;
  for (const t of GRID) if (rates(valid, t).youden > rates(valid, best).youden) best = t;
  const r = rates(test, best);
  const base = test.filter((o) => o.outside).length / test.length;
  return {
    recent,
    top,
    validUsers: valid.length,
    testUsers: test.length,
    threshold: best,
    outsideRate: base,
    ...r,
    liftCI: bootstrap(test, (o) => rates(o, best).lift),
    auc: auc(test),
    aucCI: bootstrap(test, auc),
    thresholdAtDefault: rates(test, DRIFT.threshold),
  };
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      amazon: { type: 'string', multiple: true },
      diginetica: { type: 'string' },
      recent: { type: 'string', default: '3,5,10' },
      top: { type: 'string', default: String(TOP) },
      out: { type: 'string', default: 'models/drift-metrics.json' },
      help: { type: 'boolean' },
    },
  });
  if (values.help) {
    console.error(USAGE);
    return 0;
  }
  const windows = values.recent.split(',').map(Number);
  const top = Number(values.top);
  if (!windows.every((w) => Number.isInteger(w) && w > 0) || !(Number.isInteger(top) && top > 0)) {
    console.error(`--recent and --top take positive integers\n${USAGE}`);
    return 2;
  }
  const amazon = values.amazon ?? [
    'data/amazon/Beauty.txt,data/amazon/Beauty_item2attributes.json',
  ];
  const digi = (
    values.diginetica ??
    ['product-categories.csv', 'train-purchases.csv', 'sample-train-item-views.csv']
      .map((f) => `../shared/data/diginetica/${f}`)
      .join(',')
  ).split(',');
  const db = await openPglite(undefined);
  const results: Record<string, unknown>[] = [];
  try {
    await migrate(db, { EMBEDDING_DIM: 64 });
    const datasets: string[] = [];
    for (const spec of amazon) {
      const files = classifyAmazonFiles(spec.split(','));
      const report = await importAmazon(db, files);
      console.error(`imported ${spec} in ${report.seconds.toFixed(1)} s`);
    }
    datasets.push(...(await datasetsWithUsers(db)));
    await importDiginetica(db, digi);
    datasets.push('diginetica');
    for (const dataset of datasets) {
      const hs = await histories(db, dataset);
      for (const recent of windows) {
        const r = { dataset, users: hs.length, ...evaluate(hs, recent, top) };
        results.push(r);
        console.log(JSON.stringify(r));
      }
    }
  } finally {
    await db.close();
  }
  await writeFile(values.out, JSON.stringify({ top, results }, null, 2) + '\n');
  const f = (x: number) => (Number.isFinite(x) ? x.toFixed(3) : '–');
  console.log(
    `\n| dataset | recent | test users | threshold (valid) | migrating | P(outside) | P(outside \\| migrating) | P(outside \\| not) | lift [95 % CI] | AUC [95 % CI] | lift at ${DRIFT.threshold} |`,
  );
  console.log('|---|---|---|---|---|---|---|---|---|---|---|');
  for (const r of results as ReturnType<typeof evaluate>[] & { dataset: string }[])
    console.log(
      `| ${(r as { dataset: string }).dataset} | ${r.recent} | ${r.testUsers} | ${r.threshold} | ${r.migrating} | ${f(r.outsideRate)} | ${f(r.outsideIfMigrating)} | ${f(r.outsideIfNot)} | ${f(r.lift)} [${f(r.liftCI[0])}, ${f(r.liftCI[1])}] | ${f(r.auc)} [${f(r.aucCI[0])}, ${f(r.aucCI[1])}] | ${f(r.thresholdAtDefault.lift)} (${r.thresholdAtDefault.migrating}) |`,
    );
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
