// `npm run import -- --format amazon|diginetica <paths…>`: loads public shop data into the
// configured database (DATABASE_URL, else the embedded PGlite in DATA_DIR), migrating first.
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from '../config.js';
import { openDb, type Db } from '../db/index.js';
import { migrate } from '../db/migrate.js';
import { classifyAmazonFiles, importAmazon } from './amazon.js';
import { importDiginetica } from './diginetica.js';
import { createProgress } from './progress.js';
import { importUciShoppers } from './uci.js';
import type { ImportReport } from './report.js';

const USAGE = `usage: npm run import -- --format amazon|diginetica|uci-shoppers [--batch-size N] <file>…
  amazon:     <Name>.txt sequence files and <Name>_item2attributes.json files
  diginetica: any of product-categories.csv, products.csv, train-purchases.csv,
              train-item-views.csv, sample-train-item-views.csv, train-queries.csv
  uci-shoppers: online_shoppers_intention.csv (sessions with aggregate features, no events)`;

export function formatReport(r: ImportReport): string {
  const lines = Object.entries(r.counts).map(
    ([table, c]) =>
      `  ${table.padEnd(15)} ${String(c.read).padStart(9)} read ${String(c.inserted).padStart(9)} new`,
  );
  const total = Object.values(r.counts).reduce((s, c) => s + c.read, 0);
  return [
    ...lines,
    `  rejected rows   ${r.rejected}`,
    `  ${r.seconds.toFixed(1)} s, ${Math.round(total / Math.max(r.seconds, 1e-9))} rows/s`,
  ].join('\n');
}

/** One UCI file (the data set is one file). */
function importUci(db: Db, files: string[], opts: Parameters<typeof importUciShoppers>[2]) {
  if (files.length !== 1) throw new ConfigError('--format uci-shoppers takes one CSV file');
  return importUciShoppers(db, files[0] as string, opts);
}

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      format: { type: 'string' },
      'batch-size': { type: 'string' },
      help: { type: 'boolean' },
    },
  });
  if (values.help || !values.format || positionals.length === 0) {
    console.error(USAGE);
    return values.help ? 0 : 2;
  }
  if (!['amazon', 'diginetica', 'uci-shoppers'].includes(values.format)) {
    console.error(`--format must be amazon, diginetica or uci-shoppers\n${USAGE}`);
    return 2;
  }
  const batchSize = values['batch-size'] ? Number(values['batch-size']) : undefined;
  if (batchSize !== undefined && !(Number.isInteger(batchSize) && batchSize > 0)) {
    console.error('--batch-size must be a positive integer');
    return 2;
  }
  const config = loadConfig(process.env);
  const db = await openDb(config);
  try {
    await migrate(db, { EMBEDDING_DIM: config.embeddingDim });
    console.error(
      `importing into ${db.kind === 'postgres' ? 'PostgreSQL (DATABASE_URL)' : `PGlite at ${config.dataDir}`}`,
    );
    const opts = {
      progress: createProgress(),
      onReject: (m: string) => console.error(`rejected ${m}`),
      ...(batchSize !== undefined && { batchSize }),
    };
    const r =
      values.format === 'amazon'
        ? await importAmazon(db, classifyAmazonFiles(positionals), opts)
        : values.format === 'uci-shoppers'
          ? await importUci(db, positionals, opts)
          : await importDiginetica(db, positionals, opts);
    console.log(formatReport(r));
    return 0;
  } finally {
    await db.close();
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err instanceof ConfigError ? err.message : err);
    process.exit(1);
  },
);
