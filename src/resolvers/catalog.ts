// Items and categories: lookups, filtered listings, catalogue upserts.
import { listCategories } from '../db/categories.js';
import { datasetOf } from '../db/events.js';
import { CATEGORY_KEYSET, existingCategoryIds, type CategoryRow } from '../db/categories.js';
import {
  getItemsByIds,
  ITEM_KEYSET,
  listItems,
  upsertItem,
  type ItemFilter,
  type ItemRow,
} from '../db/items.js';
import type { Resolvers } from '../generated/graphql.js';
import { badUserInput } from '../errors.js';
import { checkLength } from './input-checks.js';
import { idKey, pageRequest, toConnection, type CursorList } from './paging.js';

/** Longest item texts stored; the brand is indexed (items_brand_idx), so it is shorter. */
export const MAX_TITLE_LENGTH = 1000;
export const MAX_DESCRIPTION_LENGTH = 10_000;
export const MAX_BRAND_LENGTH = 500;
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
  checkLength('filter.categoryId', f.categoryId as string | null | undefined);
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

export const catalogResolvers: Resolvers = {
  Query: {
    item: (_, { id }, { loaders }) => loaders.item.load(id),
    itemsByIds: (_, { ids }, { loaders, config }) => {
      if (ids.length > config.maxPageSize)
        throw badUserInput('ids', `at most ${config.maxPageSize} ids per call`);
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
    category: (_, { id }, { loaders }) => loaders.category.load(id),
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
    upsertItem: async (_, { input }, { db, serving }) => {
      if (input.id.trim() === '') throw badUserInput('input.id', 'must not be empty');
      checkLength('input.id', input.id);
      checkLength('input.title', input.title, MAX_TITLE_LENGTH);
      checkLength('input.description', input.description, MAX_DESCRIPTION_LENGTH);
      checkLength('input.brand', input.brand, MAX_BRAND_LENGTH);
      (input.categoryIds ?? []).forEach((c, i) => checkLength(`input.categoryIds[${i}]`, c));
      if (input.price != null && (!Number.isFinite(input.price) || input.price < 0))
        throw badUserInput('input.price', 'must be ≥ 0');
      // items.price is numeric(12, 2)
      if (input.price != null && input.price >= 1e10)
        throw badUserInput('input.price', 'must be below 10,000,000,000');
      const categoryIds = [...new Set(input.categoryIds ?? [])];
      return db.transaction(async (tx) => {
        const known = await existingCategoryIds(tx, categoryIds);
        const unknown = categoryIds.find((c) => !known.has(c));
        if (unknown !== undefined)
          throw badUserInput('input.categoryIds', `unknown category "${unknown}"`);
        const row = await upsertItem(tx, {
          id: input.id,
          dataset: datasetOf(input.id),
          title: input.title ?? null,
          description: input.description ?? null,
          brand: input.brand ?? null,
          price: input.price ?? null,
          inStock: input.inStock ?? true,
          attributes: input.attributes ?? {},
          categoryIds,
        });
        if (!serving) return row;
        // Cold start: embedded in the same transaction (the upsert holds the row lock), so the
        // product is retrievable as soon as it is stored and its vector always matches it.
        await serving.lease.embedItems(tx, [row.id]);
        return (await getItemsByIds(tx, [row.id]))[0] ?? row;
      });
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
