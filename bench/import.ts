// Import throughput of a shop's own exports (`--format catalogue` / `events`, src/import/shop/),
// on PostgreSQL and PGlite, from files written from the real data in ../shared/data:
//
//   catalogue          the first 50,000 rows of DIGINETICA's product-categories.csv as they are
//                      (`itemId;categoryId`, `--category id`): ids and categories only — the
//                      source has no titles or prices, so none are made up
//   events, Beauty     the first 100,000 interactions of Amazon Beauty.txt, in file order, as
//                      `user_id,item_id,type` rows (PURCHASE: every one is a reviewed purchase);
//                      no time column, as the source has no times — one real source
//   events, DIGINETICA its 30,416 events: the 12,391 views of sample-train-item-views.csv
//                      (sessions `v<id>`, kept apart as the DIGINETICA importer keeps them) and
//                      the 18,025 purchases of train-purchases.csv, as
//                      `session_id,user_id,item_id,type,date`: days only (the source has no time
//                      of day), the user empty for anonymous sessions
//
// Each import runs in this process on a fresh, migrated database (PostgreSQL: a temporary
// database at --database-url; PGlite: a data directory in the temporary folder), then again
// (idempotent: nothing new). rows/s = the input's rows (items, events) / the import's own
// seconds; peak RSS is sampled every 100 ms. The project's Amazon importer on all of Beauty runs
// first on each back-end as the same machine's baseline. Writes bench/results/import-<date>.json.
//
//   npx tsx bench/import.ts [--database-url postgres://postgres@127.0.0.1:5432/test] [--only pglite|postgres]
import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import type { Db } from '../src/db/client.js';
import { migrate } from '../src/db/migrate.js';
import { openPglite } from '../src/db/pglite.js';
import { createTemporaryDatabase, openPostgres } from '../src/db/postgres.js';
import { importAmazon } from '../src/import/amazon.js';
import { importShopCatalogue } from '../src/import/shop/catalogue.js';
import { importShopEvents } from '../src/import/shop/events.js';
import { parseTypes } from '../src/import/shop/mapping.js';
import type { ImportReport } from '../src/import/report.js';

const { values: opts } = parseArgs({
  options: {
    'database-url': { type: 'string', default: 'postgres://postgres@127.0.0.1:5432/test' },
    data: { type: 'string', default: '../shared/data' },
    only: { type: 'string' },
  },
});
const DATA = opts.data as string;
const CATALOGUE_ROWS = 50_000;
const BEAUTY_EVENTS = 100_000;
const log = (m: string) => console.error(`[import bench] ${m}`);

async function* lines(file: string): AsyncGenerator<string> {
  for await (const line of createInterface({ input: createReadStream(file), crlfDelay: Infinity }))
    if (line.trim() !== '') yield line;
}

/** The three input files, written from ../shared/data into `dir`. */
async function inputs(dir: string): Promise<Record<'catalogue' | 'beauty' | 'diginetica', string>> {
  const catalogue: string[] = [];
  for await (const line of lines(path.join(DATA, 'diginetica/product-categories.csv'))) {
    catalogue.push(line);
    if (catalogue.length > CATALOGUE_ROWS) break; // the header and 50,000 rows
  }
  const beauty = ['user_id,item_id,type'];
  outer: for await (const line of lines(path.join(DATA, 'amazon/Beauty.txt'))) {
    const [user, ...items] = line.split(' ');
    for (const item of items) {
      if (beauty.length > BEAUTY_EVENTS) break outer;
      beauty.push(`${user},${item},PURCHASE`);
    }
  }
  const diginetica = ['session_id,user_id,item_id,type,date'];
  let header = true;
  for await (const line of lines(path.join(DATA, 'diginetica/sample-train-item-views.csv'))) {
    if (header) {
      header = false;
      continue;
    }
    const [session, user, item, , day] = line.split(';');
    diginetica.push(`v${session},${user === 'NA' ? '' : user},${item},VIEW,${day}`);
  }
  header = true;
  for await (const line of lines(path.join(DATA, 'diginetica/train-purchases.csv'))) {
    if (header) {
      header = false;
      continue;
    }
    const [session, user, , day, , item] = line.split(';');
    diginetica.push(`${session},${user === 'NA' ? '' : user},${item},PURCHASE,${day}`);
  }
  const files = {
    catalogue: path.join(dir, 'product-categories-50k.csv'),
    beauty: path.join(dir, 'beauty-events-100k.csv'),
    diginetica: path.join(dir, 'diginetica-events.csv'),
  };
  await writeFile(files.catalogue, `${catalogue.join('\n')}\n`);
  await writeFile(files.beauty, `${beauty.join('\n')}\n`);
  await writeFile(files.diginetica, `${diginetica.join('\n')}\n`);
  return files;
}

async function open(
  backend: 'pglite' | 'postgres',
): Promise<{ db: Db; dispose: () => Promise<void> }> {
  if (backend === 'pglite') {
    const dir = await mkdtemp(path.join(tmpdir(), 'foresight-import-bench-'));
    const db = await openPglite(dir);
    await migrate(db, { EMBEDDING_DIM: 64 });
    return { db, dispose: async () => (await db.close(), await rm(dir, { recursive: true })) };
  }
  const { url, drop } = await createTemporaryDatabase(
    opts['database-url'] as string,
    'foresight_import',
  );
  const db = await openPostgres(url);
  await migrate(db, { EMBEDDING_DIM: 64 });
  return { db, dispose: async () => (await db.close(), await drop()) };
}

interface Run {
  input: string;
  backend: string;
  run: 'first' | 'again';
  rows: number;
  seconds: number;
  rowsPerSecond: number;
  written: Record<string, number>;
  rejected: number;
  peakRssMiB: number;
}

/** Runs `fn` sampling the peak RSS. */
async function measured(
  fn: () => Promise<ImportReport>,
): Promise<{ r: ImportReport; peak: number }> {
  let peak = process.memoryUsage().rss;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 100);
  try {
    const r = await fn();
    return { r, peak: Math.max(peak, process.memoryUsage().rss) };
  } finally {
    clearInterval(timer);
  }
}

async function main(): Promise<void> {
  // the machine is shared: its load (1, 5, 15 min) before and after says how quiet it was
  const loadBefore = loadavg().map((x) => Number(x.toFixed(2)));
  const dir = await mkdtemp(path.join(tmpdir(), 'foresight-import-inputs-'));
  const files = await inputs(dir);
  const imports = {
    // the same machine's figure for the project's own format, for comparison
    'baseline: --format amazon, Beauty, 198,502 purchases': (db: Db) =>
      importAmazon(db, {
        sequences: [path.join(DATA, 'amazon/Beauty.txt')],
        attributes: [path.join(DATA, 'amazon/Beauty_item2attributes.json')],
      }),
    'catalogue: DIGINETICA product-categories, 50,000 rows': (db: Db) =>
      importShopCatalogue(db, [files.catalogue], { dataset: 'dg', category: 'id' }),
    'events: Amazon Beauty, 100,000 purchases (no times)': (db: Db) =>
      importShopEvents(db, [files.beauty], { dataset: 'shopbeauty', types: parseTypes(undefined) }),
    'events: DIGINETICA views + purchases, 30,416 (days, sessions)': (db: Db) =>
      // by line: with days only, a view repeated within a session on a day says what the
      // first said (2,399 rows of these files), and each is a real event
      importShopEvents(db, [files.diginetica], {
        dataset: 'dg',
        types: parseTypes(undefined),
        eventIds: 'line',
      }),
  };
  const runs: Run[] = [];
  const backends = (['postgres', 'pglite'] as const).filter((b) => !opts.only || opts.only === b);
  for (const backend of backends) {
    const { db, dispose } = await open(backend);
    try {
      for (const [input, run] of Object.entries(imports)) {
        for (const which of ['first', 'again'] as const) {
          const { r, peak } = await measured(() => run(db));
          const rows = Object.values(r.counts).reduce((n, c) => n + c.read, 0);
          const main = input.startsWith('catalogue') ? r.counts.items.read : r.counts.events.read;
          // rows/s counts the input's rows: items of a catalogue, events of a behaviour log
          const result: Run = {
            input,
            backend,
            run: which,
            rows: main,
            seconds: Number(r.seconds.toFixed(2)),
            rowsPerSecond: Math.round(main / r.seconds),
            written: Object.fromEntries(
              Object.entries(r.counts).map(([t, c]) => [t, c.inserted + (c.updated ?? 0)]),
            ),
            rejected: r.rejected,
            peakRssMiB: Math.round(peak / 1048576),
          };
          runs.push(result);
          log(
            `${backend} ${input} (${which}): ${main} rows (${rows} rows of all tables read) in ` +
              `${result.seconds} s, ${result.rowsPerSecond} rows/s, rejected ${r.rejected}, ` +
              `peak RSS ${result.peakRssMiB} MiB`,
          );
        }
      }
    } finally {
      await dispose();
    }
  }
  await rm(dir, { recursive: true });
  const date = new Date().toISOString().slice(0, 10);
  await mkdir('bench/results', { recursive: true });
  const out = `bench/results/import-${date}.json`;
  await writeFile(
    out,
    `${JSON.stringify(
      {
        date,
        node: process.version,
        cpus: cpus().length,
        loadBefore,
        loadAfter: loadavg().map((x) => Number(x.toFixed(2))),
        runs,
      },
      null,
      2,
    )}\n`,
  );
  log(`wrote ${out}`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
