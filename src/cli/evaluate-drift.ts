// `npm run evaluate:drift`: the drift evaluation (evaluation/drift.ts) on public data sets,
// imported with the real importers into a temporary embedded database; a JSON line per
// (dataset, recent window) as it is done, then the results file and a Markdown table.
import { writeFile } from 'node:fs/promises';
import { migrate } from '../db/migrate.js';
import { openPglite } from '../db/pglite.js';
import { datasetsWithUsers } from '../db/users.js';
import { driftHistories, evaluateDrift, type DriftEvaluation } from '../evaluation/drift.js';
import { DRIFT } from '../evolution/distribution.js';
import { classifyAmazonFiles, importAmazon } from '../import/amazon.js';
import { importDiginetica } from '../import/diginetica.js';
import { runCommand, UsageError, type CommandLine } from './run.js';

const USAGE = `usage: npm run evaluate:drift -- [--amazon <seq.txt,attrs.json>]… [--diginetica <file,…>]
  [--recent 3,5,10] [--top 3] [--out models/drift-metrics.json]
defaults: the bundled Beauty sample and ../shared/data/diginetica/*.csv`;

const OPTIONS = {
  amazon: { type: 'string', multiple: true },
  diginetica: { type: 'string' },
  recent: { type: 'string', default: '3,5,10' },
  top: { type: 'string', default: '3' },
  out: { type: 'string', default: 'models/drift-metrics.json' },
} as const;

type Result = { dataset: string; users: number } & DriftEvaluation;

async function main({ values }: CommandLine<typeof OPTIONS>) {
  const windows = values.recent.split(',').map(Number);
  const top = Number(values.top);
  if (!windows.every((w) => Number.isInteger(w) && w > 0) || !(Number.isInteger(top) && top > 0))
    throw new UsageError('--recent and --top take positive integers');
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
  const results: Result[] = [];
  try {
    await migrate(db, { EMBEDDING_DIM: 64 });
    for (const spec of amazon) {
      const report = await importAmazon(db, classifyAmazonFiles(spec.split(',')));
      console.error(`imported ${spec} in ${report.seconds.toFixed(1)} s`);
    }
    const datasets = await datasetsWithUsers(db);
    await importDiginetica(db, digi);
    datasets.push('diginetica');
    for (const dataset of datasets) {
      const hs = await driftHistories(db, dataset);
      for (const recent of windows) {
        const r = { dataset, users: hs.length, ...evaluateDrift(hs, recent, top) };
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
  for (const r of results)
    console.log(
      `| ${r.dataset} | ${r.recent} | ${r.testUsers} | ${r.threshold} | ${r.migrating} | ${f(r.outsideRate)} | ${f(r.outsideIfMigrating)} | ${f(r.outsideIfNot)} | ${f(r.lift)} [${f(r.liftCI[0])}, ${f(r.liftCI[1])}] | ${f(r.auc)} [${f(r.aucCI[0])}, ${f(r.aucCI[1])}] | ${f(r.thresholdAtDefault.lift)} (${r.thresholdAtDefault.migrating}) |`,
    );
}

runCommand({ usage: USAGE, options: OPTIONS, main });
