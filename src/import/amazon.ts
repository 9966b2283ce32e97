// Importer for the Amazon review sequences (S3-Rec preprocessing): `<Name>.txt` with one line
// per user (`user item item …`, oldest first) and `<Name>_item2attributes.json`.
// The data has no times, prices or action types: events are PURCHASE (every interaction is a
// reviewed purchase), ordered by `seq` (position in the line), with no time. Beauty also has
// `<Name>_item_text.tsv` (titles) and `<Name>_attribute_names.tsv` (names of the attribute ids):
// given, they name the items, their brands and the category tree (amazon-names.ts).
import { access, readFile } from 'node:fs/promises';
import path from 'node:path';
import { nameAnonymousCategories } from '../db/categories.js';
import type { Db } from '../db/client.js';
import { fillItemNames } from '../db/items.js';
import { attributeRoles, NO_BRAND, readNames } from './amazon-names.js';
import { silentProgress, type ProgressSink } from './progress.js';
import { forEachLine, Rejections, report, type ImportReport } from './report.js';
import { ImportWriter } from './writer.js';

export interface AmazonFiles {
  /** `<Name>.txt` sequence files. */
  sequences: string[];
  /** `<Name>_item2attributes.json` files. */
  attributes: string[];
  /** `<Name>_item_text.tsv`: `item_id`, `asin`, `title` (Beauty only). */
  itemTexts?: string[];
  /** `<Name>_attribute_names.tsv`: `attribute_id`, `name`, `item_count` (Beauty only). */
  attributeNames?: string[];
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
    .replace(/_(item2attributes|item_text|attribute_names)$/i, '')
    .toLowerCase();
}

/** Sorts paths into sequence, attribute and names files (by extension and name). */
export function classifyAmazonFiles(paths: string[]): AmazonFiles {
  const tsv = paths.filter((p) => p.endsWith('.tsv'));
  return {
    sequences: paths.filter((p) => !p.endsWith('.json') && !p.endsWith('.tsv')),
    attributes: paths.filter((p) => p.endsWith('.json')),
    itemTexts: tsv.filter((p) => /_item_text\.tsv$/i.test(p)),
    attributeNames: tsv.filter((p) => !/_item_text\.tsv$/i.test(p)),
  };
}

/** The names files beside `<Name>_item2attributes.json` that exist, as AmazonFiles fields. */
export async function amazonNameFilesBeside(
  attributes: string,
): Promise<Pick<AmazonFiles, 'itemTexts' | 'attributeNames'>> {
  const base = attributes.replace(/_item2attributes\.json$/i, '');
  const present = async (file: string) =>
    (await access(file).then(
      () => true,
      () => false,
    ))
      ? [file]
      : [];
  return {
    itemTexts: await present(`${base}_item_text.tsv`),
    attributeNames: await present(`${base}_attribute_names.tsv`),
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
  // Each dataset's item → attribute lists, for the names pass at the end.
  const lists = new Map<string, Map<number, number[]>>();

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
      let byItem = lists.get(dataset);
      if (!byItem) lists.set(dataset, (byItem = new Map()));
      byItem.set(Number(rawItem), attrs as number[]);
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
  await nameItemsAndCategories(db, files, lists, rejections);
  await writer.analyze();
  return report(writer, rejections, started);
}

/**
 * Names the items (title, brand) and the categories (name, parent) of each dataset whose
 * names files were given, where they are still unnamed: a database imported before the names
 * existed gets them by importing the files again.
 */
async function nameItemsAndCategories(
  db: Db,
  files: AmazonFiles,
  lists: Map<string, Map<number, number[]>>,
  rejections: Rejections,
): Promise<void> {
  const read = async (file: string, column: string) => {
    try {
      return await readNames(file, column);
    } catch (err) {
      rejections.add(file, 1, `${(err as Error).message}; file skipped`);
      return new Map<number, string>();
    }
  };
  const attributeNames = new Map<string, Map<number, string>>();
  for (const file of files.attributeNames ?? [])
    attributeNames.set(amazonDataset(file), await read(file, 'name'));
  const titles = new Map<string, Map<number, string>>();
  for (const file of files.itemTexts ?? [])
    titles.set(amazonDataset(file), await read(file, 'title'));

  for (const dataset of new Set([...attributeNames.keys(), ...titles.keys()])) {
    // Roles come from the lists of this run; without them (names files alone) there is
    // nothing to tell brands from categories with.
    const byItem = lists.get(dataset) ?? new Map<number, number[]>();
    const names = attributeNames.get(dataset);
    const roles = attributeRoles(byItem.values());
    if (names && byItem.size > 0) {
      const named = [...roles.parents].flatMap(([a, parent]) => {
        const name = names.get(a);
        return name === undefined
          ? []
          : [
              {
                id: `${dataset}:a${a}`,
                name,
                parentId: parent === null ? null : `${dataset}:a${parent}`,
              },
            ];
      });
      for (const b of roles.brands) {
        const name = names.get(b);
        if (name !== undefined) named.push({ id: `${dataset}:a${b}`, name, parentId: null });
      }
      await db.transaction((tx) => nameAnonymousCategories(tx, named));
    }
    const itemTitles = titles.get(dataset) ?? new Map<number, string>();
    const ids = new Set([...itemTitles.keys(), ...(names ? byItem.keys() : [])]);
    const items = [...ids].map((raw) => {
      const brand = (byItem.get(raw) ?? []).find((a) => roles.brands.has(a));
      return {
        id: `${dataset}:${raw}`,
        title: itemTitles.get(raw) ?? null,
        brand: brandName(brand === undefined ? undefined : names?.get(brand)),
      };
    });
    await db.transaction((tx) => fillItemNames(tx, items));
  }
}

const brandName = (name: string | undefined): string | null =>
  name === undefined || NO_BRAND.has(name) ? null : name;
