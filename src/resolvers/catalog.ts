// Items and categories: lookups, filtered listings, catalogue upserts.
import { listCategories } from '../db/categories.js';
import { CATEGORY_KEYSET, type CategoryRow } from '../db/categories.js';
import {
  getItemsByIds,
  ITEM_KEYSET,
  listItems,
  type ItemFilter,
  type ItemRow,
} from '../db/items.js';
import type { Resolvers } from '../generated/graphql.js';
import { categoryNameProblem, writeCategoryTree } from '../catalog/category-tree.js';
import {
  checkItem,
  MAX_BRAND_LENGTH,
  writeItems,
  type ItemBatchWritten,
  type ItemChange,
} from '../catalog/items.js';
import type { Context } from '../context.js';
import { badUserInput } from '../errors.js';
import { checkLength, lookupId, oneDataset } from '../input-rules.js';
import { idKey, pageRequest, toConnection, type CursorList } from './paging.js';

/** Longest text the item listing searches titles and descriptions for. */
export const MAX_FILTER_TEXT_LENGTH = 200;

const ITEMS: CursorList<ItemRow> = { name: 'Query.items', keyset: ITEM_KEYSET, keyOf: idKey };
const CATEGORIES: CursorList<CategoryRow> = {
  name: 'Query.categories',
  keyset: CATEGORY_KEYSET,
  keyOf: idKey,
};

function itemFilter(f: Record<string, unknown> | null | undefined): ItemFilter {
  const out: ItemFilter = {};
  if (!f) return out;
  checkLength('filter.text', f.text as string | null | undefined, MAX_FILTER_TEXT_LENGTH);
  checkLength('filter.brand', f.brand as string | null | undefined, MAX_BRAND_LENGTH);
  checkLength('filter.dataset', f.dataset as string | null | undefined);
  const categoryId = f.categoryId as string | null | undefined;
  if (categoryId != null) lookupId('filter.categoryId', categoryId);
  // one dataset per call: a category of another dataset than filter.dataset holds no item of it
  if (categoryId != null && f.dataset != null) {
    const datasets = oneDataset();
    datasets.check('filter.dataset', `${f.dataset as string}:-`);
    datasets.check('filter.categoryId', categoryId);
  }
  for (const [k, v] of Object.entries(f))
    if (v !== null && v !== undefined) Object.assign(out, { [k]: v });
  for (const k of ['minPrice', 'maxPrice'] as const) {
    const v = out[k];
    if (v !== undefined && (!Number.isFinite(v) || v < 0))
      throw badUserInput(`filter.${k}`, 'must be a price ≥ 0');
  }
  if (out.minPrice !== undefined && out.maxPrice !== undefined && out.minPrice > out.maxPrice)
    throw badUserInput('filter.maxPrice', 'must be ≥ filter.minPrice');
  return out;
}

/**
 * Writes checked items in one transaction and embeds them there with their dataset's serving
 * model (cold start: a new product is retrievable as soon as it is stored, and its vector
 * always matches it); the stored rows in the order given.
 */
function storeItems(
  { db, serving }: Context,
  dataset: string,
  changes: ItemChange[],
  createCategories: boolean | null | undefined,
): Promise<ItemBatchWritten & { items: ItemRow[] }> {
  return db.transaction(async (tx) => {
    const written = await writeItems(tx, dataset, changes, {
      createCategories: createCategories ?? false,
    });
    if (serving) await serving.lease.embedItems(tx, written.ids);
    const rows = new Map((await getItemsByIds(tx, written.ids)).map((r) => [r.id, r]));
    return { ...written, items: written.ids.map((id) => rows.get(id) as ItemRow) };
  });
}

/** A batch of `n` entries in `field`: at least one, at most `max` (MAX_CATALOG_BATCH). */
function checkBatchSize(field: string, n: number, max: number): void {
  if (n === 0) throw badUserInput(field, 'must not be empty');
  if (n > max)
    throw badUserInput(field, `has ${n} entries; at most ${max} per call (MAX_CATALOG_BATCH)`);
}

export const catalogResolvers: Resolvers = {
  Query: {
    item: (_, { id }, { loaders }) => loaders.item.load(lookupId('id', id)),
    itemsByIds: (_, { ids }, { loaders, config }) => {
      if (ids.length > config.maxPageSize)
        throw badUserInput('ids', `at most ${config.maxPageSize} ids per call`);
      const datasets = oneDataset();
      ids.forEach((id, k) => lookupId(`ids[${k}]`, id, datasets));
      return loaders.item
        .loadMany(ids)
        .then((rows) => rows.map((r) => (r instanceof Error ? null : r)));
    },
    items: async (_, args, { db, config, loaders }) => {
      const filter = itemFilter(args.filter);
      const page = await listItems(db, filter, pageRequest(args, config.maxPageSize, ITEMS));
      for (const row of page.rows) loaders.item.prime(row.id, row);
      return toConnection(page, ITEMS);
    },
    category: (_, { id }, { loaders }) => loaders.category.load(lookupId('id', id)),
    categories: async (_, args, { db, config }) => {
      checkLength('dataset', args.dataset);
      const filter = {
        ...(args.dataset != null && { dataset: args.dataset }),
        rootsOnly: args.rootsOnly ?? false,
      };
      return toConnection(
        await listCategories(db, filter, pageRequest(args, config.maxPageSize, CATEGORIES)),
        CATEGORIES,
      );
    },
  },
  Mutation: {
    upsertCategories: async (_, { categories }, { db, config }) => {
      checkBatchSize('categories', categories.length, config.maxCatalogBatch);
      const datasets = oneDataset();
      const rows = categories.map((c, i): CategoryRow => {
        const at = (name: string) => `categories[${i}].${name}`;
        checkLength(at('id'), c.id);
        checkLength(at('parentId'), c.parentId);
        const dataset = datasets.check(at('id'), c.id);
        if (c.parentId != null) datasets.check(at('parentId'), c.parentId);
        const problem = categoryNameProblem(c.name);
        if (problem) throw badUserInput(at('name'), problem);
        return {
          id: c.id,
          dataset,
          name: c.name,
          parentId: c.parentId ?? null,
          position: c.position ?? 0,
        };
      });
      const dataset = datasets.dataset() as string;
      return db
        .transaction((tx) => writeCategoryTree(tx, dataset, rows))
        .then((w) => ({
          categories: w.rows,
          created: w.created,
        }));
    },
    upsertItem: async (_, { input, createCategories }, ctx) => {
      const datasets = oneDataset();
      const change = checkItem(input, 'input', datasets);
      const stored = await storeItems(ctx, change.item.dataset, [change], createCategories);
      return stored.items[0] as ItemRow;
    },
    upsertItems: async (_, { items, createCategories }, ctx) => {
      checkBatchSize('items', items.length, ctx.config.maxCatalogBatch);
      const datasets = oneDataset();
      const changes = items.map((input, i) => checkItem(input, `items[${i}]`, datasets));
      const stored = await storeItems(ctx, datasets.dataset() as string, changes, createCategories);
      return {
        items: stored.items,
        created: stored.inserted.length,
        updated: stored.updated.length,
        categoriesCreated: stored.categoriesCreated,
      };
    },
  },
  Item: {
    categories: (item, _, { loaders }) => loaders.categoriesOfItem.load(item.id),
    attributes: (item) => item.attributes ?? {},
  },
  Category: {
    parent: (c, _, { loaders }) => (c.parentId ? loaders.category.load(c.parentId) : null),
    children: (c, _, { loaders }) => loaders.childCategories.load(c.id),
  },
};
