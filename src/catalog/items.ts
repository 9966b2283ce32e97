// Catalogue items as a shop sends them (upsertItem, upsertItems, the catalogue importer): each
// checked on its own, then a batch written all or nothing — categories by id or by name path
// (created on request), items and their category lists in a few statements.
import { existingCategoryIds, type CategoryRow } from '../db/categories.js';
import type { Queryable } from '../db/client.js';
import { upsertItems, type ItemUpsert, type ItemsWritten } from '../db/items.js';
import { badUserInput } from '../errors.js';
import { checkLength, type OneDataset } from '../input-rules.js';
import { resolveCategoryPaths } from './category-tree.js';

/** Longest item texts stored; the brand is indexed (items_brand_idx), so it is shorter. */
export const MAX_TITLE_LENGTH = 1000;
export const MAX_DESCRIPTION_LENGTH = 10_000;
export const MAX_BRAND_LENGTH = 500;
/** Longest name path (`Women > Shoes > Boots`). */
export const MAX_CATEGORY_PATH_LENGTH = 1000;
/** items.price is numeric(12, 2). */
const PRICE_BOUND = 1e10;

/** An item's fields as the API and the importer take them (GraphQL's ItemInput). */
export interface ItemFields {
  id: string;
  title?: string | null;
  description?: string | null;
  brand?: string | null;
  price?: number | null;
  inStock?: boolean | null;
  categoryIds?: readonly string[] | null;
  categoryPaths?: readonly string[] | null;
  attributes?: Record<string, unknown> | null;
}

/** A checked item: its row, and its categories still to resolve. */
export interface ItemChange {
  item: Omit<ItemUpsert, 'categoryIds'>;
  categoryIds: string[];
  categoryPaths: string[];
  /** How refusals name it (`input`, `items[3]`). */
  at: string;
}

/**
 * Checks one item where it comes in (ids and texts within their caps, the id and its category
 * ids of the call's dataset, a price ≥ 0); a refusal names `${at}.<field>` (`<field>` when `at`
 * is empty).
 */
export function checkItem(input: ItemFields, at: string, datasets: OneDataset): ItemChange {
  const field = (name: string) => (at ? `${at}.${name}` : name);
  if (input.id.trim() === '') throw badUserInput(field('id'), 'must not be empty');
  checkLength(field('id'), input.id);
  checkLength(field('title'), input.title, MAX_TITLE_LENGTH);
  checkLength(field('description'), input.description, MAX_DESCRIPTION_LENGTH);
  checkLength(field('brand'), input.brand, MAX_BRAND_LENGTH);
  const dataset = datasets.check(field('id'), input.id);
  const categoryIds = input.categoryIds ?? [];
  categoryIds.forEach((c, k) => {
    checkLength(field(`categoryIds[${k}]`), c);
    datasets.check(field(`categoryIds[${k}]`), c);
  });
  const categoryPaths = input.categoryPaths ?? [];
  categoryPaths.forEach((p, k) =>
    checkLength(field(`categoryPaths[${k}]`), p, MAX_CATEGORY_PATH_LENGTH),
  );
  const price = input.price ?? null;
  if (price !== null && (!Number.isFinite(price) || price < 0))
    throw badUserInput(field('price'), 'must be ≥ 0');
  if (price !== null && price >= PRICE_BOUND)
    throw badUserInput(field('price'), 'must be below 10,000,000,000');
  return {
    item: {
      id: input.id,
      dataset,
      title: input.title ?? null,
      description: input.description ?? null,
      brand: input.brand ?? null,
      price,
      inStock: input.inStock ?? true,
      attributes: input.attributes ?? {},
    },
    categoryIds: [...categoryIds],
    categoryPaths: [...categoryPaths],
    at,
  };
}

/** What a batch write did: its items' ids in the order given, new and changed ones, and the
 * categories its name paths created. */
export interface ItemBatchWritten extends ItemsWritten {
  ids: string[];
  categoriesCreated: CategoryRow[];
}

/**
 * Writes checked items of `dataset` in the caller's transaction, all or nothing: every
 * category id must exist, every name path resolve (or, with `createCategories`, be created),
 * and no id come twice. An item's categories are its ids, then its paths' last categories, in
 * that order, each once.
 */
export async function writeItems(
  tx: Queryable,
  dataset: string,
  changes: ItemChange[],
  opts: { createCategories: boolean },
): Promise<ItemBatchWritten> {
  const first = new Map<string, string>();
  for (const c of changes) {
    const earlier = first.get(c.item.id);
    if (earlier !== undefined)
      throw badUserInput(`${c.at}.id`, `"${c.item.id}" is also ${earlier}: one entry per id`);
    first.set(c.item.id, c.at);
  }
  const wanted = [...new Set(changes.flatMap((c) => c.categoryIds))];
  const known = await existingCategoryIds(tx, wanted);
  for (const c of changes)
    c.categoryIds.forEach((id, k) => {
      if (!known.has(id))
        throw badUserInput(`${c.at}.categoryIds[${k}]`, `unknown category "${id}"`);
    });
  const { ids: byPath, created } = await resolveCategoryPaths(
    tx,
    dataset,
    changes.flatMap((c) =>
      c.categoryPaths.map((path, k) => ({ path, field: `${c.at}.categoryPaths[${k}]` })),
    ),
    opts.createCategories,
  );
  const items = changes.map((c) => ({
    ...c.item,
    categoryIds: [
      ...new Set([...c.categoryIds, ...c.categoryPaths.map((p) => byPath.get(p) as string)]),
    ],
  }));
  const written = await upsertItems(tx, items);
  return { ...written, ids: items.map((i) => i.id), categoriesCreated: created };
}
