// Per-request DataLoaders: every row fetch of one GraphQL request is batched (one statement per
// kind of lookup per tick) and cached for the rest of the request. Lookups by id go through
// loaders shared by all requests, which merge the keys that concurrent requests ask for in the
// same tick into one statement (the forecasts of one merged batch resolve together, so their
// items and categories are one statement per batch, not per request) and cache nothing.
import DataLoader from 'dataloader';
import type { Queryable } from '../db/client.js';
import {
  getCategoriesByIds,
  getCategoriesOfItems,
  getChildCategories,
  type CategoryRow,
} from '../db/categories.js';
import {
  getEventsByIds,
  pageEventsOfSessions,
  pageEventsOfUsers,
  type EventRow,
} from '../db/events.js';
import { categorisedHistories, type CategorisedHistory } from '../db/interests.js';
import { getItemsByIds, type ItemRow } from '../db/items.js';
import type { Page, PageRequest } from '../db/paging.js';
import { getSessionsByIds, pageSessionsOfUsers, type SessionRow } from '../db/sessions.js';
import { getUsersByIds, type UserRow } from '../db/users.js';

/** Loads rows by id; unknown ids resolve to null. */
function byId<R extends { id: string }>(
  fetch: (ids: readonly string[]) => Promise<R[]>,
  options?: DataLoader.Options<string, R | null>,
): DataLoader<string, R | null> {
  return new DataLoader(async (ids) => {
    const rows = new Map((await fetch(ids)).map((r) => [r.id, r]));
    return ids.map((id) => rows.get(id) ?? null);
  }, options);
}

/** A request's cached view of a shared lookup. */
function cachedView<R>(shared: DataLoader<string, R | null>): DataLoader<string, R | null> {
  return new DataLoader((ids) => shared.loadMany(ids));
}

/**
 * Lookups by id shared by every request of a server: create once, pass to createLoaders.
 * They batch but do not cache (`cache: false`): rows are read when a request asks, as before.
 */
export function createSharedLookups(q: Queryable) {
  const shared = <R extends { id: string }>(fetch: (ids: readonly string[]) => Promise<R[]>) =>
    byId(fetch, { cache: false });
  return {
    item: shared<ItemRow>((ids) => getItemsByIds(q, ids)),
    user: shared<UserRow>((ids) => getUsersByIds(q, ids)),
    session: shared<SessionRow>((ids) => getSessionsByIds(q, ids)),
    category: shared<CategoryRow>((ids) => getCategoriesByIds(q, ids)),
    event: shared<EventRow>((ids) => getEventsByIds(q, ids)),
  };
}

export type SharedLookups = ReturnType<typeof createSharedLookups>;

/** Loads the rows related to each parent id (e.g. categories of items). */
function manyByParent<R>(
  fetch: (ids: readonly string[]) => Promise<R[]>,
  parentOf: (r: R) => string | null,
): DataLoader<string, R[]> {
  return new DataLoader(async (ids) => {
    const groups = new Map<string, R[]>();
    for (const r of await fetch(ids)) {
      const p = parentOf(r) ?? '';
      const g = groups.get(p);
      if (g) g.push(r);
      else groups.set(p, [r]);
    }
    return ids.map((id) => groups.get(id) ?? []);
  });
}

export interface PageKey {
  parentId: string;
  page: PageRequest;
}

/** Loads one connection page per parent; parents asking for the same page shape share a
 * statement (a window-function query over all of them). */
function pagesOf<R>(
  fetch: (parentIds: readonly string[], page: PageRequest) => Promise<Page<R>[]>,
): DataLoader<PageKey, Page<R>, string> {
  return new DataLoader(
    async (keys) => {
      const groups = new Map<string, { page: PageRequest; indexes: number[] }>();
      keys.forEach((k, i) => {
        const shape = JSON.stringify(k.page);
        const g = groups.get(shape);
        if (g) g.indexes.push(i);
        else groups.set(shape, { page: k.page, indexes: [i] });
      });
      const out = new Array<Page<R>>(keys.length);
      await Promise.all(
        [...groups.values()].map(async ({ page, indexes }) => {
          const pages = await fetch(
            indexes.map((i) => keys[i]!.parentId),
            page,
          );
          indexes.forEach((keyIndex, j) => (out[keyIndex] = pages[j]!));
        }),
      );
      return out;
    },
    { cacheKeyFn: (k) => JSON.stringify([k.parentId, k.page]) },
  );
}

/** Events read for a timeline or a drift score: the newest ones (schema/evolution.graphql). */
export const EVOLUTION_EVENTS = 5000;

/** A subject's newest EVOLUTION_EVENTS events with their categories; null for an unknown id. */
function categorisedHistoriesOf(
  q: Queryable,
  subject: 'user' | 'session',
): DataLoader<string, CategorisedHistory | null> {
  return new DataLoader(async (ids) => {
    const found = await categorisedHistories(q, subject, ids, EVOLUTION_EVENTS);
    return ids.map((id) => found.get(id) ?? null);
  });
}

export function createLoaders(q: Queryable, shared: SharedLookups = createSharedLookups(q)) {
  return {
    item: cachedView(shared.item),
    user: cachedView(shared.user),
    session: cachedView(shared.session),
    category: cachedView(shared.category),
    event: cachedView(shared.event),
    categoriesOfItem: manyByParent(
      (ids) => getCategoriesOfItems(q, ids),
      (r) => r.itemId,
    ),
    childCategories: manyByParent(
      (ids) => getChildCategories(q, ids),
      (r) => r.parentId,
    ),
    sessionsOfUser: pagesOf<SessionRow>((ids, page) => pageSessionsOfUsers(q, ids, page)),
    eventsOfUser: pagesOf<EventRow>((ids, page) => pageEventsOfUsers(q, ids, page)),
    eventsOfSession: pagesOf<EventRow>((ids, page) => pageEventsOfSessions(q, ids, page)),
    categorisedHistoryOfUser: categorisedHistoriesOf(q, 'user'),
    categorisedHistoryOfSession: categorisedHistoriesOf(q, 'session'),
  };
}

export type Loaders = ReturnType<typeof createLoaders>;
