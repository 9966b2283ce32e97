// Exports one dataset's behaviour and catalogue from the database into the training pipeline's
// events format (models/training/foresight_training/sequence/data.py, docs/training.md):
// `events.jsonl` (one sequence per line, oldest event first) and `attributes.json` (item id → its
// category ids). `npm run train -- --from-db` runs this file as a CLI, then trains on what it wrote.
//
//   npx tsx src/training/export-dataset.ts --dataset myshop --out /tmp/myshop
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from '../config.js';
import { openDb, type Db } from '../db/index.js';
import {
  categoriesOfEventItems,
  datasetEventCounts,
  historyEventPages,
} from '../db/training-export.js';

export const EVENTS_FILE = 'events.jsonl';
export const ATTRIBUTES_FILE = 'attributes.json';

/** The dataset cannot be exported (no such dataset, nothing to train on): a message for the operator. */
export class ExportError extends Error {
  override name = 'ExportError';
}

/** Rows read per statement: the histories are paged, never held in memory all at once. */
const PAGE_SIZE = 20_000;

/** One line of events.jsonl. */
export interface TrainingSequence {
  /** `user:<user id>`, or `session:<session id>` for the events of a session without a user. */
  id: string;
  events: { item: string; type: string; at: number | null }[];
}

export interface ExportReport {
  dataset: string;
  sequences: { user: number; session: number };
  events: number;
  /** Events with a time: their own (`occurredAt`) or one derived from day and session offset. */
  eventsWithTime: { occurredAt: number; derived: number };
  /** Items the events name, and how many of them have at least one category. */
  items: { total: number; withCategories: number };
  categories: number;
  files: { events: string; attributes: string };
}

/**
 * An event's time in epoch seconds (millisecond precision), or null. Events recorded through the
 * API have `occurredAt`. Imported logs that give only the day and the offset within the session
 * (DIGINETICA) get the day's midnight UTC plus the offset: gaps within a session are then exact,
 * gaps between sessions are off by the sessions' unknown start times (less than a day apart on
 * the same day, whatever the clock time on different days).
 */
export function eventTime(
  occurredAt: Date | null,
  occurredOn: string | null,
  sessionOffsetMs: number | null,
): number | null {
  if (occurredAt) return occurredAt.getTime() / 1000;
  if (occurredOn === null || sessionOffsetMs === null) return null;
  return (Date.parse(`${occurredOn}T00:00:00Z`) + sessionOffsetMs) / 1000;
}

/**
 * Writes `dataset`'s events (one sequence per user; per session for events without a user) and
 * the categories of the items they name into `outDir`. Ids are the database's own, verbatim.
 * Throws an ExportError when the dataset has no events on items. `pageSize`: events per statement.
 */
export async function exportDataset(
  db: Db,
  dataset: string,
  outDir: string,
  { pageSize = PAGE_SIZE }: { pageSize?: number } = {},
): Promise<ExportReport> {
  await mkdir(outDir, { recursive: true });
  const files = {
    events: path.join(outDir, EVENTS_FILE),
    attributes: path.join(outDir, ATTRIBUTES_FILE),
  };
  const report: ExportReport = {
    dataset,
    sequences: { user: 0, session: 0 },
    events: 0,
    eventsWithTime: { occurredAt: 0, derived: 0 },
    items: { total: 0, withCategories: 0 },
    categories: 0,
    files,
  };
  const out = createWriteStream(files.events, { encoding: 'utf8' });
  const write = async (line: string) => {
    if (!out.write(line)) await once(out, 'drain');
  };
  const items = new Set<string>();
  try {
    for (const kind of ['user', 'session'] as const) {
      let current: TrainingSequence | null = null;
      let currentHistory = '';
      const flush = async () => {
        if (current) await write(JSON.stringify(current) + '\n');
      };
      for await (const page of historyEventPages(db, dataset, kind, pageSize)) {
        for (const r of page) {
          if (!current || r.history !== currentHistory) {
            await flush();
            current = { id: `${kind}:${r.history}`, events: [] };
            currentHistory = r.history;
            report.sequences[kind]++;
          }
          const at = eventTime(r.occurredAt, r.occurredOn, r.sessionOffsetMs);
          if (r.occurredAt) report.eventsWithTime.occurredAt++;
          else if (at !== null) report.eventsWithTime.derived++;
          current.events.push({ item: r.itemId, type: r.type, at });
          items.add(r.itemId);
          report.events++;
        }
      }
      await flush();
    }
  } finally {
    out.end();
    await once(out, 'close');
  }
  if (report.events === 0) {
    const withEvents = await datasetEventCounts(db);
    throw new ExportError(
      `dataset "${dataset}" has no events on items to train on; datasets with events: ` +
        (withEvents.map((d) => `${d.dataset} (${d.events} events)`).join(', ') || 'none'),
    );
  }

  const rows = await categoriesOfEventItems(db, dataset);
  const attributes: Record<string, string[]> = {};
  const categories = new Set<string>();
  for (const r of rows) {
    attributes[r.itemId] = r.categories;
    r.categories.forEach((c) => categories.add(c));
  }
  await writeFile(files.attributes, JSON.stringify(attributes));
  report.items = { total: items.size, withCategories: rows.length };
  report.categories = categories.size;
  return report;
}

const USAGE = `usage: npx tsx src/training/export-dataset.ts --dataset <name> --out <directory>
Reads the dataset from the configured database (DATABASE_URL, else the embedded PGlite in
DATA_DIR) and writes ${EVENTS_FILE} and ${ATTRIBUTES_FILE} into the directory.`;

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      dataset: { type: 'string' },
      out: { type: 'string' },
      help: { type: 'boolean' },
    },
  });
  if (values.help || !values.dataset || !values.out) {
    console.error(USAGE);
    return values.help ? 0 : 2;
  }
  const config = loadConfig(process.env);
  // PGlite allows one process per data directory: closed before the caller starts training.
  const db = await openDb(config);
  try {
    const r = await exportDataset(db, values.dataset, values.out);
    const source =
      db.kind === 'postgres' ? 'PostgreSQL (DATABASE_URL)' : `PGlite at ${config.dataDir}`;
    console.log(
      `exported ${r.dataset} from ${source}: ${r.events} events in ` +
        `${r.sequences.user + r.sequences.session} sequences (${r.sequences.user} users, ` +
        `${r.sequences.session} sessions without a user), ${r.items.total} items ` +
        `(${r.items.withCategories} with categories, ${r.categories} categories), events with a time: ` +
        `${r.eventsWithTime.occurredAt} recorded, ${r.eventsWithTime.derived} from day + session offset\n` +
        `wrote ${r.files.events} and ${r.files.attributes}`,
    );
    return 0;
  } finally {
    await db.close();
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(import.meta.filename)) {
  main().then(
    (code) => process.exit(code),
    (err: unknown) => {
      console.error(err instanceof ConfigError || err instanceof ExportError ? err.message : err);
      process.exit(1);
    },
  );
}
