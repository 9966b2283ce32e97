// The bundled Amazon Beauty sample, imported at start-up when the database holds no data yet,
// so that a bare `npm start` serves real shop data.
import path from 'node:path';
import type { Db } from '../db/client.js';
import { importAmazon } from './amazon.js';
import type { ProgressSink } from './progress.js';
import type { ImportReport } from './report.js';

/**
 * Imports the sample into an empty database (no items, no events), and finishes an import of
 * it that an earlier start began but did not complete; returns the report, or null.
 */
export async function importSampleIfEmpty(
  db: Db,
  sample: { sequences: string; attributes: string },
  progress: ProgressSink,
  log: (message: string) => void = () => {},
): Promise<ImportReport | null> {
  const name = path.basename(sample.sequences);
  const { rows } = await db.query<{ empty: boolean; unfinished: boolean }>(
    `SELECT NOT EXISTS (SELECT 1 FROM items) AND NOT EXISTS (SELECT 1 FROM events) AS empty,
            EXISTS (SELECT 1 FROM sample_import WHERE name = $1 AND completed_at IS NULL)
              AS unfinished`,
    [name],
  );
  const state = rows[0];
  if (!state?.empty && !state?.unfinished) return null;
  log(
    state.unfinished
      ? `resuming the interrupted import of the bundled sample ${sample.sequences}`
      : `empty database: importing the bundled sample ${sample.sequences}`,
  );
  await db.query(`INSERT INTO sample_import (name) VALUES ($1) ON CONFLICT (name) DO NOTHING`, [
    name,
  ]);
  const report = await importAmazon(
    db,
    { sequences: [sample.sequences], attributes: [sample.attributes] },
    { progress },
  );
  await db.query(`UPDATE sample_import SET completed_at = now() WHERE name = $1`, [name]);
  return report;
}
