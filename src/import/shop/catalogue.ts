// Importer for a shop's own catalogue exports (`--format catalogue`): one item per row of CSV or
// JSON Lines files — id, title, description, brand, price, in_stock, category (docs/import.md).
// Each row is checked as upsertItems checks an item, and rows are written in batches through the
// same path (src/catalog/items.ts), so a category given as a name path (`Women > Shoes`) is found
// in the dataset's tree or created with its ancestors, and an item sent again unchanged is left
// as it is: importing a file again changes nothing. A category given as an id (`--category id`)
// that does not exist is created as a root named by the id. Items are embedded at the gateway's
// next start (a changed item's content embedding is cleared, so it is embedded anew).
import { analyzeTables } from '../../db/bulk.js';
import { existingCategoryIds, insertCategories } from '../../db/categories.js';
import type { Db } from '../../db/client.js';
import { CodedError } from '../../errors.js';
import { oneDataset } from '../../input-rules.js';
import { parseCategoryPath } from '../../catalog/category-tree.js';
import { checkItem, writeItems, type ItemChange } from '../../catalog/items.js';
import type { ProgressSink } from '../progress.js';
import { Rejections, type ImportReport } from '../report.js';
import { TABLES } from '../writer.js';
import {
  CATALOGUE_LAYOUT,
  forEachMappedRow,
  missingColumn,
  namespaced,
  optionName,
  text,
  values,
  type CatalogueField,
} from './mapping.js';
import type { RowsOptions, RowValue } from './rows.js';

/** Items per transaction: as many as one upsertItems call may carry by default. */
export const CATALOGUE_BATCH = 500;

export interface ShopCatalogueOptions {
  dataset: string;
  /** `--columns`: field (as `in_stock`) → column name. */
  columns?: ReadonlyMap<string, string>;
  /** What the category column holds: name paths (default) or ids. */
  category?: 'path' | 'id';
  /** Separates several categories in one cell (default `|`). */
  listSeparator?: string;
  rows?: RowsOptions;
  progress?: ProgressSink;
  batchSize?: number;
  onReject?: (message: string) => void;
}

const TRUE = new Set(['true', '1', 'yes', 'y', 'in stock', 'instock', 'available']);
const FALSE = new Set(['false', '0', 'no', 'n', 'out of stock', 'outofstock', 'unavailable']);

export async function importShopCatalogue(
  db: Db,
  files: string[],
  opts: ShopCatalogueOptions,
): Promise<ImportReport> {
  const started = performance.now();
  const rejections = new Rejections(opts.onReject);
  const counts = Object.fromEntries(
    TABLES.map((t) => [t, { read: 0, inserted: 0 }]),
  ) as ImportReport['counts'];
  counts.items.updated = 0;
  const datasets = oneDataset();
  const categoriesSeen = new Set<string>();
  let batch = new Map<string, ItemChange>();

  const flush = async () => {
    if (batch.size === 0) return;
    const changes = [...batch.values()];
    batch = new Map();
    await db.transaction(async (tx) => {
      if (opts.category === 'id') {
        const wanted = [...new Set(changes.flatMap((c) => c.categoryIds))];
        const known = await existingCategoryIds(tx, wanted);
        const prefix = `${opts.dataset}:`.length;
        const missing = wanted.filter((id) => !known.has(id));
        counts.categories.inserted += await insertCategories(
          tx,
          missing.map((id) => ({
            id,
            dataset: opts.dataset,
            name: id.slice(prefix),
            parentId: null,
          })),
        );
      }
      const written = await writeItems(tx, opts.dataset, changes, { createCategories: true });
      counts.items.inserted += written.inserted.length;
      counts.items.updated = (counts.items.updated ?? 0) + written.updated.length;
      counts.categories.inserted += written.categoriesCreated.length;
      counts.itemCategories.inserted += written.links;
    });
  };

  const mapped = {
    layout: CATALOGUE_LAYOUT,
    check: (columns: Map<CatalogueField, string>) =>
      columns.has('id') ? null : missingColumn(CATALOGUE_LAYOUT, 'id'),
    columns: opts.columns,
    rows: opts.rows,
    progress: opts.progress,
  };
  for (const file of files)
    await forEachMappedRow(
      file,
      mapped,
      async (row, columns, line) => {
        const change = readItem(row, columns, opts, datasets, (reason) =>
          rejections.add(file, line, reason),
        );
        if (!change) return;
        counts.items.read++;
        // the categories the row names: its ids, and each path's categories (its prefixes)
        for (const id of change.categoryIds) categoriesSeen.add(id);
        for (const p of change.categoryPaths) {
          const names = p.split('>').map((n) => n.trim());
          names.forEach((_, k) => categoriesSeen.add(names.slice(0, k + 1).join('\u0000')));
        }
        counts.categories.read = categoriesSeen.size;
        counts.itemCategories.read += change.categoryIds.length + change.categoryPaths.length;
        // one row per item: a later row of the same item in a batch replaces the earlier
        batch.delete(change.item.id);
        batch.set(change.item.id, change);
        if (batch.size >= (opts.batchSize ?? CATALOGUE_BATCH)) await flush();
      },
      (line, reason) => rejections.add(file, line, reason),
    );
  await flush();
  await analyzeTables(db, ['categories', 'items', 'item_categories']);
  return {
    counts,
    rejected: rejections.count,
    rejections: rejections.listed,
    seconds: (performance.now() - started) / 1000,
  };
}

/** A row as a checked item, or null after reporting why it is not one. */
function readItem(
  row: Map<string, RowValue>,
  columns: Map<CatalogueField, string>,
  opts: ShopCatalogueOptions,
  datasets: ReturnType<typeof oneDataset>,
  fail: (reason: string) => void,
): ItemChange | null {
  const get = (f: CatalogueField) => text(row, columns.get(f));
  const raw = get('id');
  if (raw === undefined) return (fail('id: empty'), null);
  const priceText = get('price');
  const price = priceText === undefined ? null : Number(priceText);
  if (
    price !== null &&
    (!/^\s*\d+(\.\d+)?\s*$/.test(priceText as string) || !Number.isFinite(price))
  )
    return (fail(`price: "${priceText}" is not a number (digits, a "." before decimals)`), null);
  const stockText = get('inStock')?.toLowerCase();
  if (stockText !== undefined && !TRUE.has(stockText) && !FALSE.has(stockText))
    return (fail(`${optionName('inStock')}: "${stockText}" is neither true nor false`), null);
  const categories = values(row, columns.get('category'), opts.listSeparator ?? '|');
  if (opts.category !== 'id')
    for (const p of categories) {
      const parsed = parseCategoryPath(p);
      if ('problem' in parsed) return (fail(`category: ${parsed.problem}`), null);
    }
  try {
    return checkItem(
      {
        id: namespaced(opts.dataset, raw),
        title: get('title') ?? null,
        description: get('description') ?? null,
        brand: get('brand') ?? null,
        price,
        inStock: stockText === undefined ? true : TRUE.has(stockText),
        ...(opts.category === 'id'
          ? { categoryIds: categories.map((c) => namespaced(opts.dataset, c)) }
          : { categoryPaths: categories }),
      },
      '',
      datasets,
    );
  } catch (err) {
    if (!(err instanceof CodedError)) throw err;
    fail(err.message);
    return null;
  }
}
