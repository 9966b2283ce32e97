// UCI Online Shoppers Purchasing Intention (Sakar et al., 2019): one row per session of one
// shop, with the session's aggregate page counts, durations and analytics metrics, its visit
// attributes and whether it ended in a purchase (Revenue). The rows carry no page views, so
// each becomes a session `uci:s<row>` (row = 0-based index after the header) of dataset `uci`
// whose features are stored as an aggregate (sessions.intent_aggregate, `aggregate: true`),
// with its visit attributes in sessions.visit. Idempotent: re-importing adds nothing.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { insertIgnoringConflicts } from '../db/bulk.js';
import type { Db } from '../db/client.js';
import { featuresFromUciRow, UCI_COLUMNS } from '../intent/features.js';
import { silentProgress, type ProgressSink } from './progress.js';
import { Rejections, type ImportReport } from './report.js';
import { TABLES } from './writer.js';
import { type Visit } from '../db/page-views.js';

export const UCI_DATASET = 'uci';

export async function importUciShoppers(
  db: Db,
  file: string,
  opts: { progress?: ProgressSink; onReject?: (message: string) => void } = {},
): Promise<ImportReport> {
  const started = performance.now();
  const progress = opts.progress ?? silentProgress;
  const rejections = new Rejections(opts.onReject);
  const name = path.basename(file);
  const lines = (await readFile(file, 'utf8')).split(/\r?\n/);
  const header = (lines[0] ?? '').split(';');
  if (header.join(';') !== UCI_COLUMNS.join(';'))
    throw new Error(
      `${name}: header is not the UCI Online Shoppers one (${UCI_COLUMNS.join(';')})`,
    );
  progress.start(name, lines.length - 1);
  let read = 0;
  const rows: unknown[][] = [];
  lines.slice(1).forEach((line, row) => {
    if (line.trim() === '') return;
    try {
      const fields = line.split(';');
      const { features, visitorType, revenue } = featuresFromUciRow(fields);
      const visit: Visit = {
        visitorType,
        specialDay: features[9] as number,
        operatingSystem: features[11] as number,
        browser: features[12] as number,
        region: features[13] as number,
        trafficType: features[14] as number,
      };
      const aggregate = { aggregate: true, source: 'uci-shoppers', row, features, revenue };
      rows.push([
        `${UCI_DATASET}:s${row}`,
        UCI_DATASET,
        JSON.stringify(visit),
        JSON.stringify(aggregate),
      ]);
    } catch (err) {
      rejections.add(name, row + 2, (err as Error).message);
    }
    progress.update(++read, rows.length);
  });
  const inserted = await db.transaction((tx) =>
    insertIgnoringConflicts(tx, 'sessions', ['id', 'dataset', 'visit', 'intent_aggregate'], rows, {
      visit: 'jsonb',
      intent_aggregate: 'jsonb',
    }),
  );
  progress.stop();
  const counts = Object.fromEntries(
    TABLES.map((t) => [t, { read: 0, inserted: 0 }]),
  ) as ImportReport['counts'];
  counts.sessions = { read: rows.length, inserted };
  return {
    counts,
    rejected: rejections.count,
    rejections: rejections.listed,
    seconds: (performance.now() - started) / 1000,
  };
}
