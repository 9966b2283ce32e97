// `npm run import -- --format amazon|diginetica|uci-shoppers|events|catalogue <paths…>`: loads
// public shop data, or a shop's own exports (src/import/shop/), into the configured database
// (DATABASE_URL, else the embedded PGlite in DATA_DIR), migrating first.
import { loadConfig } from '../config.js';
import { CodedError, ErrorCode } from '../errors.js';
import { classifyAmazonFiles, importAmazon } from '../import/amazon.js';
import { importDiginetica } from '../import/diginetica.js';
import { createProgress } from '../import/progress.js';
import type { ImportReport } from '../import/report.js';
import {
  SHOP_FORMATS,
  SHOP_OPTIONS,
  SHOP_USAGE,
  shopImport,
  type ShopFormat,
} from '../import/shop/options.js';
import { importUciShoppers } from '../import/uci.js';
import {
  configuredDbName,
  runCommand,
  UsageError,
  withConfiguredDb,
  type CommandLine,
} from './run.js';

const FORMATS = ['amazon', 'diginetica', 'uci-shoppers', ...SHOP_FORMATS];

const USAGE = `usage: npm run import -- --format ${FORMATS.join('|')} [--batch-size N] <file>…
  amazon:     <Name>.txt sequence files and <Name>_item2attributes.json files; for names,
              <Name>_item_text.tsv (titles) and <Name>_attribute_names.tsv (Beauty only)
  diginetica: any of product-categories.csv, products.csv, train-purchases.csv,
              train-item-views.csv, sample-train-item-views.csv, train-queries.csv
  uci-shoppers: online_shoppers_intention.csv (sessions with aggregate features, no events)
${SHOP_USAGE}`;

const OPTIONS = {
  format: { type: 'string' },
  'batch-size': { type: 'string' },
  ...SHOP_OPTIONS,
} as const;

function formatReport(r: ImportReport): string {
  const lines = Object.entries(r.counts).map(
    ([table, c]) =>
      `  ${table.padEnd(15)} ${String(c.read).padStart(9)} read ${String(c.inserted).padStart(9)} new` +
      (c.updated === undefined ? '' : ` ${String(c.updated).padStart(9)} changed`),
  );
  const total = Object.values(r.counts).reduce((s, c) => s + c.read, 0);
  return [
    ...lines,
    `  rejected rows   ${r.rejected}`,
    `  ${r.seconds.toFixed(1)} s, ${Math.round(total / Math.max(r.seconds, 1e-9))} rows/s`,
  ].join('\n');
}

async function main({ values, positionals: files }: CommandLine<typeof OPTIONS>) {
  const format = values.format;
  if (!format || files.length === 0) throw new UsageError();
  if (!FORMATS.includes(format))
    throw new UsageError(`--format must be one of ${FORMATS.join(', ')}`);
  // The UCI data set is one file.
  if (format === 'uci-shoppers' && files.length !== 1)
    throw new CodedError(ErrorCode.BAD_USER_INPUT, '--format uci-shoppers takes one CSV file');
  const batchSize = values['batch-size'] ? Number(values['batch-size']) : undefined;
  if (batchSize !== undefined && !(Number.isInteger(batchSize) && batchSize > 0))
    throw new CodedError(ErrorCode.BAD_USER_INPUT, '--batch-size must be a positive integer');
  const opts = {
    progress: createProgress(),
    onReject: (m: string) => console.error(`rejected ${m}`),
    ...(batchSize !== undefined && { batchSize }),
  };
  // A shop's own exports: their options are checked before the database opens (ConfigError).
  const shop = (SHOP_FORMATS as readonly string[]).includes(format)
    ? shopImport(format as ShopFormat, values, files, opts)
    : null;
  const config = loadConfig(process.env);
  await withConfiguredDb(config, async (db) => {
    console.error(`importing into ${configuredDbName(db, config)}`);
    const r = shop
      ? await shop(db)
      : format === 'amazon'
        ? await importAmazon(db, classifyAmazonFiles(files), opts)
        : format === 'uci-shoppers'
          ? await importUciShoppers(db, files[0] as string, opts)
          : await importDiginetica(db, files, opts);
    console.log(formatReport(r));
  });
}

runCommand({ usage: USAGE, options: OPTIONS, positionals: true, main });
