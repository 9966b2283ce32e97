// The bundled Amazon Beauty sample, imported at start-up when the database holds no data yet,
// so that a bare `npm start` serves real shop data.
import type { Db } from '../db/client.js';
import { importAmazon } from './amazon.js';
import type { ProgressSink } from './progress.js';
import type { ImportReport } from './report.js';

/** Imports the sample if there are no items and no events; returns the report, or null. */
export async function importSampleIfEmpty(
  db: Db,
  sample: { sequences: string; attributes: string },
  progress: ProgressSink,
  log: (message: string) => void = () => {},
): Promise<ImportReport | null> {
  const { rows } = await db.query<{ empty: boolean }>(
    'SELECT NOT EXISTS (SELECT 1 FROM items) AND NOT EXISTS (SELECT 1 FROM events) AS empty',
  );
  if (!rows[0]?.empty) return null;
  log(`empty database: importing the bundled sample ${sample.sequences}`);
  return importAmazon(
    db,
    { sequences: [sample.sequences], attributes: [sample.attributes] },
    { progress },
  );
}
