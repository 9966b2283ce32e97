// `npx tsx src/cli/export-dataset.ts --dataset <name> --out <directory>`: one dataset from the
// configured database in the training pipeline's events format (src/training/export-dataset.ts);
// `npm run train -- --from-db` runs it (models/training/…/train_flags.py EXPORTER).
import { loadConfig } from '../config.js';
import {
  ATTRIBUTES_FILE,
  CATEGORIES_FILE,
  EVENTS_FILE,
  exportDataset,
} from '../training/export-dataset.js';
import {
  configuredDbName,
  runCommand,
  UsageError,
  withConfiguredDb,
  type CommandLine,
} from './run.js';

const USAGE = `usage: npx tsx src/cli/export-dataset.ts --dataset <name> --out <directory>
Reads the dataset from the configured database (DATABASE_URL, else the embedded PGlite in
DATA_DIR) and writes ${EVENTS_FILE}, ${ATTRIBUTES_FILE} and ${CATEGORIES_FILE} into the directory.`;

const OPTIONS = {
  dataset: { type: 'string' },
  out: { type: 'string' },
} as const;

async function main({ values }: CommandLine<typeof OPTIONS>) {
  const { dataset, out } = values;
  if (!dataset || !out) throw new UsageError();
  const config = loadConfig(process.env);
  // Read as it is (no migration); closed before the caller starts training.
  await withConfiguredDb(
    config,
    async (db) => {
      const r = await exportDataset(db, dataset, out);
      console.log(
        `exported ${r.dataset} from ${configuredDbName(db, config)}: ${r.events} events in ` +
          `${r.sequences.user + r.sequences.session} sequences (${r.sequences.user} users, ` +
          `${r.sequences.session} sessions without a user), ${r.items.total} items ` +
          `(${r.items.withCategories} with categories, ${r.categories} categories), events with a time: ` +
          `${r.eventsWithTime.occurredAt} recorded, ${r.eventsWithTime.derived} from day + session offset\n` +
          `wrote ${r.files.events}, ${r.files.attributes} and ${r.files.categories}`,
      );
    },
    { migrate: false },
  );
}

runCommand({ usage: USAGE, options: OPTIONS, main });
