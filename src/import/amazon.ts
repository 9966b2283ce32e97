// Importer for the Amazon review sequences (S3-Rec preprocessing): `<Name>.txt` with one line
// per user (`user item item …`, oldest first) and `<Name>_item2attributes.json`.
// The data has no times, prices, titles or action types: events are PURCHASE (every
// interaction is a reviewed purchase), ordered by `seq` (position in the line), with no time.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Db } from '../db/client.js';
import { silentProgress, type ProgressSink } from './progress.js';
import { forEachLine, Rejections, report, type ImportReport } from './report.js';
import { ImportWriter } from './writer.js';

export interface AmazonFiles {
  /** `<Name>.txt` sequence files. */
  sequences: string[];
  /** `<Name>_item2attributes.json` files. */
  attributes: string[];
}

export interface ImportOptions {
  progress?: ProgressSink;
  batchSize?: number;
  onReject?: (message: string) => void;
}

/** `Beauty.txt` → `beauty`, `Sports_and_Outdoors_item2attributes.json` → `sports_and_outdoors`. */
export function amazonDataset(file: string): string {
  return path
    .basename(file)
    .replace(/\.[^.]+$/, '')
    .replace(/_item2attributes$/i, '')
    .toLowerCase();
}

/** Sorts paths into sequence and attribute files (by extension). */
export function classifyAmazonFiles(paths: string[]): AmazonFiles {
  return {
    sequences: paths.filter((p) => !p.endsWith('.json')),
    attributes: paths.filter((p) => p.endsWith('.json')),
  };
}

const POSITIVE_INT = /^[1-9]\d*$/;

export async function importAmazon(
  db: Db,
  files: AmazonFiles,
  opts: ImportOptions = {},
): Promise<ImportReport> {
  const started = performance.now();
  const progress = opts.progress ?? silentProgress;
  const writer = new ImportWriter(db, opts.batchSize);
  const rejections = new Rejections(opts.onReject);

  // Attributes first: they create the items and categories the events point at.
  for (const file of files.attributes) {
    const dataset = amazonDataset(file);
    let parsed: unknown;
    try {
      parsed = JSON.parse(await readFile(file, 'utf8'));
    } catch (err) {
      rejections.add(file, 1, `not valid JSON (${(err as Error).message}); file skipped`);
      continue;
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
      rejections.add(file, 1, 'expected an object of item id → attribute ids; file skipped');
      continue;
    }
    const entries = Object.entries(parsed as Record<string, unknown>);
    progress.start(`${path.basename(file)}`, entries.length);
    let n = 0;
    for (const [rawItem, attrs] of entries) {
      n++;
      if (
        !POSITIVE_INT.test(rawItem) ||
        !Array.isArray(attrs) ||
        !attrs.every((a) => Number.isInteger(a) && a > 0)
      ) {
        rejections.add(
          file,
          `item "${rawItem}"`,
          'expected a positive item id with a list of positive attribute ids',
        );
        continue;
      }
      const itemId = `${dataset}:${rawItem}`;
      await writer.item({ id: itemId, dataset });
      let position = 0;
      for (const a of new Set(attrs as number[])) {
        const categoryId = `${dataset}:a${a}`;
        await writer.category({
          id: categoryId,
          dataset,
          name: `attribute ${a}`,
          parentId: null,
        });
        await writer.itemCategory({ itemId, categoryId, position: position++ });
      }
      if (n % 500 === 0) progress.update(n, n);
    }
    progress.update(entries.length, entries.length);
    progress.stop();
  }

  for (const file of files.sequences) {
    const dataset = amazonDataset(file);
    await forEachLine(file, path.basename(file), progress, async (line, lineNo) => {
      const tokens = line.trim().split(/\s+/);
      if (tokens.length === 1 && tokens[0] === '') return; // blank line
      if (tokens.length < 2 || !tokens.every((t) => POSITIVE_INT.test(t))) {
        rejections.add(file, lineNo, 'expected "user_id item_id item_id …" (positive integers)');
        return;
      }
      const [rawUser, ...rawItems] = tokens;
      const userId = `${dataset}:${rawUser}`;
      await writer.user({ id: userId, dataset });
      let seq = 0;
      for (const rawItem of rawItems) {
        seq++;
        const itemId = `${dataset}:${rawItem}`;
        await writer.item({ id: itemId, dataset });
        await writer.event({
          clientEventId: `${dataset}:${rawUser}:${seq}`,
          dataset,
          userId,
          sessionId: null,
          type: 'PURCHASE',
          itemId,
          query: null,
          occurredOn: null,
          sessionOffsetMs: null,
          seq,
        });
      }
    });
  }
  await writer.flush();
  await writer.analyze();
  return report(writer, rejections, started);
}
