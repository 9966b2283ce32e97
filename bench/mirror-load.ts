// How long the exact retrieval's mirror (src/retrieval/exact.ts) takes to load a catalogue:
// the dataset's rows of slot a, read and parsed into one matrix, as after every committed
// catalogue change. Rows the loaded model embedded come by reference to its matrix; the others
// ship their vector as text (`--foreign`: all of them, the worst case).
//
//   npx tsx bench/mirror-load.ts [--database-url URL] [--dataset beauty] [--foreign] [--runs 5]
import { parseArgs } from 'node:util';
import { openDb } from '../src/db/index.js';
import { migrate } from '../src/db/migrate.js';
import { Model } from '../src/inference/model.js';
import { ExactRetrieval } from '../src/retrieval/exact.js';
import { median } from './load.js';

const { values: opts } = parseArgs({
  options: {
    'database-url': {
      type: 'string',
      default: 'postgres://postgres@127.0.0.1:5432/foresight_bench',
    },
    dataset: { type: 'string', default: 'beauty' },
    foreign: { type: 'boolean', default: false },
    runs: { type: 'string', default: '5' },
  },
});

const model = await Model.load('models/beauty', 'cpu');
const db = await openDb({ databaseUrl: opts['database-url'] as string });
try {
  await migrate(db, { EMBEDDING_DIM: model.manifest.dim });
  // --foreign: a catalogue the model knows nothing of (another version), so every row ships its
  // vector as text
  const known = opts.foreign
    ? { version: 'none', knownItem: () => undefined, itemAt: () => undefined }
    : model;
  const ms: number[] = [];
  let items = 0;
  for (let r = 0; r < Number(opts.runs); r++) {
    const exact = new ExactRetrieval(10_000_000, known, model.manifest.dim);
    const t = performance.now();
    const m = await exact.current(db, opts.dataset as string, 'a');
    ms.push(performance.now() - t);
    items = m?.ids.length ?? 0;
    await exact.release();
  }
  const rss = process.memoryUsage().rss;
  console.log(
    JSON.stringify({
      dataset: opts.dataset,
      items,
      foreign: opts.foreign,
      loadMs: { median: median(ms), min: Math.min(...ms), max: Math.max(...ms) },
      rssBytes: rss,
    }),
  );
} finally {
  await model.release();
  await db.close();
}
