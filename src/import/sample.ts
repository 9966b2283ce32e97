// The bundled Amazon Beauty sample, imported at start-up when the database holds no data yet,
// so that a bare `npm start` serves real shop data, with the titles and attribute names that
// lie beside it (data/amazon/: Beauty_item_text.tsv, Beauty_attribute_names.tsv).
import path from 'node:path';
import type { Db } from '../db/client.js';
import { amazonNameFilesBeside, importAmazon } from './amazon.js';
import type { ProgressSink } from './progress.js';
import type { ImportReport } from './report.js';
import {
  sampleImportState,
  markSampleImportStarted,
  markSampleImportDone,
} from '../db/sample-import.js';

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
  const state = await sampleImportState(db, name);
  if (!state.empty && !state.unfinished) return null;
  log(
    state.unfinished
      ? `resuming the interrupted import of the bundled sample ${sample.sequences}`
      : `empty database: importing the bundled sample ${sample.sequences}`,
  );
  await markSampleImportStarted(db, name);
  const report = await importAmazon(
    db,
    {
      sequences: [sample.sequences],
      attributes: [sample.attributes],
      ...(await amazonNameFilesBeside(sample.attributes)),
    },
    { progress },
  );
  await markSampleImportDone(db, name);
  return report;
}
