// Exports one dataset's behaviour and catalogue from the database into the training pipeline's
// events format (models/training/foresight_training/sequence/data.py, docs/training.md):
// `events.jsonl` (one sequence per line, oldest event first), `attributes.json` (item id → its
// category ids) and `categories.json` (category id → its parent id, null for a root: the tree the
// next-category forecaster is judged on at every level). Its command line is src/cli/export-dataset.ts, which `npm run train -- --from-db`
// runs before it trains on what it wrote.
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Db } from '../db/index.js';
import {
  categoriesOfEventItems,
  categoryTree,
  datasetEventCounts,
  historyEventPages,
} from '../db/training-export.js';
import { CodedError, ErrorCode } from '../errors.js';

export const EVENTS_FILE = 'events.jsonl';
export const ATTRIBUTES_FILE = 'attributes.json';
export const CATEGORIES_FILE = 'categories.json';

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
  files: { events: string; attributes: string; categories: string };
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
 * Refuses (BAD_USER_INPUT) a dataset without events on items. `pageSize`: events per statement.
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
    categories: path.join(outDir, CATEGORIES_FILE),
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
    throw new CodedError(
      ErrorCode.BAD_USER_INPUT,
      `dataset "${dataset}" has no events on items to train on; datasets with events: ` +
        (withEvents.map((d) => `${d.dataset} (${d.events} events)`).join(', ') || 'none'),
      { field: 'dataset' },
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
  const tree: Record<string, string | null> = {};
  for (const c of await categoryTree(db, dataset)) tree[c.id] = c.parentId;
  await writeFile(files.categories, JSON.stringify(tree));
  report.items = { total: items.size, withCategories: rows.length };
  report.categories = categories.size;
  return report;
}
