// Cold-start products measured through the API: a model trained with items held out of every
// training sequence (`npm run train -- … --holdout-items 0.1`, which writes heldout.json) is
// served by the real gateway; the held-out products are upserted through `upsertItem` with
// their attributes and title (data/amazon/Beauty_item_text.tsv; `--without-titles`: attributes
// only), so the content tower embeds them, as for a product added today, and each
// Beauty shopper's last item is forecast from the items before it (anonymous `recentEvents`,
// first 20). HR@20 / NDCG@20 of shoppers whose target is a held-out item (cold) against those
// whose target the model was trained on (warm).
//
//   npx tsx bench/cold-items.ts --model /tmp/exp/beauty-holdout [--warm 3000] [--without-titles]
//       [--label NAME]
//
// Uses the PostgreSQL database `foresight_coldstart` on 127.0.0.1 (recreated each run);
// writes bench/results/cold-items-<date>.json.
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { readNames } from '../src/import/amazon-names.js';
import { gql, importFiles, recreateDatabase, startServer } from './load.js';

const { values: opts } = parseArgs({
  options: {
    model: { type: 'string' },
    'database-url': {
      type: 'string',
      default: 'postgres://postgres@127.0.0.1:5432/foresight_coldstart',
    },
    warm: { type: 'string', default: '3000' },
    'without-titles': { type: 'boolean', default: false },
    concurrency: { type: 'string', default: '8' },
    /** Appended to the results file's name. */
    label: { type: 'string' },
  },
});
if (!opts.model) {
  console.error('usage: npx tsx bench/cold-items.ts --model <dir with heldout.json> [--warm N]');
  process.exit(2);
}
const modelDir = path.resolve(opts.model);
const databaseUrl = opts['database-url'] as string;
const K = 20;
const log = (msg: string) => console.error(`[cold-items] ${msg}`);

const FORECAST = `query($e: [AnonymousEventInput!]) {
  interestForecast(recentEvents: $e, first: ${K}) { items { item { id } } } }`;
const UPSERT = `mutation($input: ItemInput!) { upsertItem(input: $input) { id embeddingSource } }`;

async function main(): Promise<void> {
  const heldOut = new Set(
    JSON.parse(await readFile(path.join(modelDir, 'heldout.json'), 'utf8')).items as string[],
  );
  const lines = (await readFile('data/amazon/Beauty.txt', 'utf8')).trim().split('\n');
  const attrs = JSON.parse(
    await readFile('data/amazon/Beauty_item2attributes.json', 'utf8'),
  ) as Record<string, number[]>;
  const titles = opts['without-titles']
    ? new Map<number, string>()
    : await readNames('data/amazon/Beauty_item_text.tsv', 'title');

  await recreateDatabase(databaseUrl);
  importFiles(databaseUrl, 'amazon', [
    'data/amazon/Beauty.txt',
    'data/amazon/Beauty_item2attributes.json',
  ]);
  const server = await startServer({ DATABASE_URL: databaseUrl, MODEL_DIR: modelDir }, 4701);
  try {
    // The held-out products arrive through the API with their attributes, as a new product
    // would: the model lists them in its vocabulary but, reading heldout.json, knows them not.
    let content = 0;
    for (const id of heldOut) {
      const raw = id.slice('beauty:'.length);
      const categoryIds = (attrs[raw] ?? []).map((a) => `beauty:a${a}`);
      const title = titles.get(Number(raw));
      const r = await gql<{ upsertItem: { embeddingSource: string } }>(server.url, UPSERT, {
        input: { id, categoryIds, ...(title && { title }) },
      });
      if (r.upsertItem.embeddingSource === 'CONTENT') content++;
    }
    log(
      `upserted ${heldOut.size} held-out items (${titles.size > 0 ? 'with' : 'without'} titles), ` +
        `${content} embedded by the content tower`,
    );

    // Leave-one-out test rows: the last item is the target, the items before it the input.
    const rows = lines.map((l) => {
      const items = l
        .split(' ')
        .slice(1)
        .map((i) => `beauty:${i}`);
      return { input: items.slice(0, -1), target: items[items.length - 1]! };
    });
    const cold = rows.filter((r) => heldOut.has(r.target));
    let seed = 7;
    const warm = rows
      .filter((r) => !heldOut.has(r.target))
      .map((r) => ({ r, key: (seed = (seed * 1103515245 + 12345) & 0x7fffffff) }))
      .sort((a, b) => a.key - b.key)
      .slice(0, Number(opts.warm))
      .map((x) => x.r);

    const measure = async (set: typeof rows) => {
      let hits = 0;
      let ndcg = 0;
      let next = 0;
      const worker = async () => {
        while (next < set.length) {
          const row = set[next++]!;
          const e = row.input.slice(-200).map((itemId) => ({ itemId, type: 'PURCHASE' }));
          const d = await gql<{ interestForecast: { items: { item: { id: string } }[] } }>(
            server.url,
            FORECAST,
            { e },
          );
          const rank = d.interestForecast.items.findIndex((i) => i.item.id === row.target);
          if (rank >= 0) {
            hits++;
            ndcg += 1 / Math.log2(rank + 2);
          }
        }
      };
      await Promise.all(Array.from({ length: Number(opts.concurrency) }, worker));
      return {
        users: set.length,
        [`HR@${K}`]: hits / set.length,
        [`NDCG@${K}`]: ndcg / set.length,
      };
    };
    const coldM = await measure(cold);
    const warmM = await measure(warm);
    const ratio = (coldM[`HR@${K}`] as number) / (warmM[`HR@${K}`] as number);
    const result = {
      at: new Date().toISOString(),
      model: modelDir,
      heldOutItems: heldOut.size,
      upsertedWithTitles: titles.size > 0,
      // how the model scores items it never trained on (models/README.md, scorer.coldItems)
      coldItems:
        JSON.parse(await readFile(path.join(modelDir, 'model.json'), 'utf8')).scorer?.coldItems ??
        'none: scorer.onnx alone',
      embeddedByContentTower: content,
      cold: coldM,
      warm: warmM,
      coldOverWarmHR: ratio,
    };
    console.log(JSON.stringify(result, null, 2));
    await writeFile(
      `bench/results/cold-items-${result.at.slice(0, 10)}${titles.size > 0 ? '' : '-without-titles'}` +
        `${opts.label ? `-${opts.label}` : ''}.json`,
      JSON.stringify(result, null, 2) + '\n',
    );
  } finally {
    await server.stop();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
