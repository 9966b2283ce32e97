// What the API accepts besides times (src/time-policy.ts): the length caps of texts and ids,
// and the rule for ids the gateway stores (`<dataset>:<id>`, one dataset per call). Any layer
// that takes input from outside — resolvers, the catalogue writes, importers — checks with it;
// docs/security.md "What the API accepts" states it for clients.
import { badUserInput } from './errors.js';

/** Longest id a client may give (items, users, sessions, events): ids are btree-indexed, and
 * PostgreSQL refuses an index row over ~2.7 kB. */
export const MAX_ID_LENGTH = 200;

/** BAD_USER_INPUT naming `field` when `value` is longer than MAX_ID_LENGTH (or `max`). */
export function checkLength(field: string, value: string | null | undefined, max = MAX_ID_LENGTH) {
  if (value && value.length > max)
    throw badUserInput(field, `at most ${max} characters, got ${value.length}`);
}

/**
 * The dataset of an id the API stores (an item, a category, a shopper, a session): ids are
 * `<dataset>:<id>`, and one without a dataset prefix gets BAD_USER_INPUT naming `field`, rather
 * than being stored in a dataset nobody asked for.
 */
export function datasetOfStoredId(field: string, id: string): string {
  const i = id.indexOf(':');
  if (i <= 0 || /\s/.test(id.slice(0, i)))
    throw badUserInput(
      field,
      `"${shown(id)}" has no dataset prefix: ids are <dataset>:<id> (e.g. "myshop:${shown(id)}")`,
    );
  if (id.slice(i + 1).trim() === '')
    throw badUserInput(field, `"${shown(id)}" has nothing after its dataset prefix`);
  return id.slice(0, i);
}

/**
 * One call writes one dataset: the ids it stores are checked one by one (`check(field, id)`),
 * and the first whose dataset differs from the first id's gets BAD_USER_INPUT naming both.
 */
export interface OneDataset {
  /** The dataset of `id`, which `field` names; refused when it is not the call's. */
  check(field: string, id: string): string;
  /** The call's dataset (the first id's), null before any id. */
  dataset(): string | null;
}

export function oneDataset(): OneDataset {
  let first: { field: string; dataset: string } | null = null;
  return {
    check(field, id) {
      const dataset = datasetOfStoredId(field, id);
      if (first === null) first = { field, dataset };
      else if (dataset !== first.dataset)
        throw badUserInput(
          field,
          `"${shown(id)}" is in dataset "${dataset}", but ${first.field} is in "${first.dataset}": ` +
            'one call writes one dataset',
        );
      return dataset;
    },
    dataset: () => first?.dataset ?? null,
  };
}

/**
 * An id a query looks up (`item(id:)`, `user(id:)`, …): the same rule as for the ids the API
 * stores, so that `sku-77` is answered with what to write instead of a null that looks like
 * an unknown item. Returns the id.
 */
export function lookupId(field: string, id: string, datasets?: OneDataset): string {
  checkLength(field, id);
  if (datasets) datasets.check(field, id);
  else datasetOfStoredId(field, id);
  return id;
}

const shown = (id: string) => (id.length > 60 ? `${id.slice(0, 60)}…` : id);
