// Reads for interest evolution: a subject's events with their items' categories (timelines,
// drift), and a dataset's interaction counts over ranges of days (trends).
import { EARLIEST_DAY, latestDay } from '../time-policy.js';
import type { Queryable } from './client.js';

/** The day of an event (`migrations/012`): the expression `events_dataset_day_idx` indexes. */
export const EVENT_DAY_SQL = `coalesce(occurred_on, (timezone('UTC', occurred_at))::date)`;

export interface CategorisedEventRow {
  seq: number;
  itemId: string | null;
  occurredAt: Date | null;
  /** YYYY-MM-DD when the source gives only the day. */
  occurredOn: string | null;
  categoryIds: string[];
}

export interface CategorisedHistory {
  dataset: string;
  /** The newest events (at most the limit), oldest first. */
  events: CategorisedEventRow[];
  /** True when the subject has older events than those read. */
  truncated: boolean;
}

/**
 * The users (or sessions) of `ids` that exist, each with its newest `limit` events (oldest
 * first) and their items' categories, in one statement: a LATERAL scan of the subject's
 * history index reads only the rows it returns, plus one more to tell whether there are older
 * ones.
 */
export async function categorisedHistories(
  q: Queryable,
  subject: 'user' | 'session',
  ids: readonly string[],
  limit: number,
): Promise<Map<string, CategorisedHistory>> {
  if (ids.length === 0) return new Map();
  const [table, column] = subject === 'user' ? ['users', 'user_id'] : ['sessions', 'session_id'];
  const { rows } = await q.query<CategorisedEventRow & { subject: string; dataset: string }>(
    `SELECT s.id AS subject, s.dataset, e.seq, e.item_id AS "itemId",
            e.occurred_at AS "occurredAt", to_char(e.occurred_on, 'YYYY-MM-DD') AS "occurredOn",
            CASE WHEN e.id IS NULL THEN NULL ELSE ARRAY(
              SELECT ic.category_id FROM item_categories ic
              WHERE ic.item_id = e.item_id ORDER BY ic.position, ic.category_id) END AS "categoryIds"
     FROM ${table} s
     LEFT JOIN LATERAL (
       SELECT id, seq, item_id, occurred_at, occurred_on FROM events e
       WHERE e.${column} = s.id AND (e.item_id IS NOT NULL OR e.page_kind IS NULL)
       ORDER BY e.seq DESC, e.id DESC LIMIT $2
     ) e ON true
     WHERE s.id = ANY($1::text[])
     ORDER BY s.id, e.seq, e.id`,
    [ids, limit + 1],
  );
  const out = new Map<string, CategorisedHistory>();
  for (const { subject: id, dataset, ...event } of rows) {
    let h = out.get(id);
    if (!h) out.set(id, (h = { dataset, events: [], truncated: false }));
    if (event.categoryIds !== null) h.events.push(event); // null: a subject without events
  }
  for (const h of out.values()) {
    if (h.events.length > limit) {
      h.events.shift(); // the extra, oldest row only tells that there are older ones
      h.truncated = true;
    }
  }
  return out;
}

export interface DatasetDays {
  /** Whether the dataset has any event. */
  hasEvents: boolean;
  /**
   * Its newest event day (YYYY-MM-DD) within the time policy's range (src/time-policy.ts);
   * null when no event has a day or time in it. An event stored out of range (before the
   * policy, or by hand) is not taken for the dataset's today.
   */
  newestDay: string | null;
}

/** Two index probes on `events_dataset_day_idx`. */
export async function datasetDays(q: Queryable, dataset: string): Promise<DatasetDays> {
  const { rows } = await q.query<{ any: boolean; newest: string | null }>(
    // Ordered by the index's columns: an EXISTS here is planned as a sequential scan that
    // filters every other dataset's events first (35 ms with Beauty beside DIGINETICA).
    `SELECT (SELECT true FROM events WHERE dataset = $1
             ORDER BY dataset, ${EVENT_DAY_SQL} LIMIT 1) IS NOT NULL AS any,
            (SELECT to_char(max(${EVENT_DAY_SQL}), 'YYYY-MM-DD') FROM events
             WHERE dataset = $1 AND ${EVENT_DAY_SQL} BETWEEN $2::date AND $3::date) AS newest`,
    [dataset, EARLIEST_DAY, latestDay()],
  );
  const r = rows[0];
  return { hasEvents: r?.any ?? false, newestDay: r?.newest ?? null };
}

export interface WindowCounts {
  /** Events with an item in each window. */
  totals: { recent: number; previous: number };
  /** The most growing keys (item or category ids) with their events in each window. */
  counts: { key: string; recent: number; previous: number }[];
}

/**
 * Interactions of `dataset` per item (or per category of the item) in two adjacent windows of
 * days, recent = [recentFrom, end) and previous = [previousFrom, recentFrom): the `limit` keys
 * with at least `minSupport` recent interactions whose add-one smoothed share grew most
 * (evolution/trends.ts), and the windows' totals. One range scan of `events_dataset_day_idx`
 * over the two windows; keys are ranked in SQL so that only `limit` rows come back.
 */
export async function windowCounts(
  q: Queryable,
  by: 'item' | 'category',
  dataset: string,
  days: { previousFrom: string; recentFrom: string; end: string },
  minSupport: number,
  limit: number,
): Promise<WindowCounts> {
  const { rows } = await q.query<{ key: string | null; recent: number; previous: number }>(
    `WITH w AS (
       SELECT item_id, ${EVENT_DAY_SQL} >= $3::date AS recent FROM events
       WHERE dataset = $1 AND item_id IS NOT NULL
         AND ${EVENT_DAY_SQL} >= $2::date AND ${EVENT_DAY_SQL} < $4::date
     ), totals AS (
       SELECT count(*) FILTER (WHERE recent)::int AS recent,
              count(*) FILTER (WHERE NOT recent)::int AS previous FROM w
     ), g AS (
       SELECT key, count(*) FILTER (WHERE recent)::int AS recent,
              count(*) FILTER (WHERE NOT recent)::int AS previous
       FROM (${
         by === 'item'
           ? 'SELECT item_id AS key, recent FROM w'
           : 'SELECT ic.category_id AS key, w.recent FROM w JOIN item_categories ic ON ic.item_id = w.item_id'
       }) k
       GROUP BY key HAVING count(*) FILTER (WHERE recent) >= $5
     )
     SELECT NULL AS key, recent, previous FROM totals
     UNION ALL
     (SELECT g.key, g.recent, g.previous FROM g, totals t
      ORDER BY ((g.recent + 1)::float8 / (t.recent + 1)) / ((g.previous + 1)::float8 / (t.previous + 1)) DESC,
               g.recent DESC, g.key
      LIMIT $6)`,
    [dataset, days.previousFrom, days.recentFrom, days.end, minSupport, limit],
  );
  const [totals, ...counts] = rows;
  return {
    totals: { recent: totals?.recent ?? 0, previous: totals?.previous ?? 0 },
    counts: counts.map((r) => ({ key: r.key as string, recent: r.recent, previous: r.previous })),
  };
}
