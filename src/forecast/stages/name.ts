// name: the reasons each forecast shows, chosen by the rules of forecast/reasons.ts (a few
// strong ones per item, none repeated down the list) and worded with the titles of the items
// and the names of the categories they cite: one statement per kind of name for the batch.
import { getCategoriesByIds } from '../../db/categories.js';
import type { Queryable } from '../../db/client.js';
import { itemTitles } from '../../db/items.js';
import type { Forecast } from '../forecast.js';
import { nameReason, selectReasons, type ForecastReason } from '../reasons.js';
import type { ForecastJob, ResolvedSubject } from './job.js';

export async function nameReasons(db: Queryable, jobs: readonly ForecastJob[]): Promise<void> {
  const explained = jobs.filter((job) => job.forecast?.items.some((it) => it.reasons !== null));
  if (explained.length === 0) return;
  const chosen = explained.map((job) =>
    selectReasons((job.forecast as Forecast).items.map((it) => it.reasons ?? [])),
  );
  const itemIds = new Set<string>();
  const categoryIds = new Set<string>();
  explained.forEach((job, j) => {
    const events = (job.subject as ResolvedSubject).events;
    for (const r of (chosen[j] as ForecastReason[][]).flat()) {
      const itemId = r.eventIndex === null ? null : events[r.eventIndex]?.itemId;
      if (itemId) itemIds.add(itemId);
      if (r.categoryId !== null) categoryIds.add(r.categoryId);
    }
  });
  const [items, categories] = await Promise.all([
    itemTitles(db, [...itemIds]),
    getCategoriesByIds(db, [...categoryIds]),
  ]);
  const names = { items, categories: new Map(categories.map((c) => [c.id, c.name])) };
  explained.forEach((job, j) => {
    const events = (job.subject as ResolvedSubject).events;
    (job.forecast as Forecast).items.forEach((it, k) => {
      if (it.reasons === null) return;
      it.reasons = (chosen[j]?.[k] ?? []).map((r) => nameReason(r, events, names));
    });
  });
}
