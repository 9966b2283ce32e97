// A dataset as the training export reads it (src/training/export-dataset.ts): its histories'
// events on items in keyset pages, the datasets that have events, the categories of the items
// its events name, and the category tree above them.
import type { Queryable } from './client.js';

export interface HistoryEventRow {
  /** The user id, or the session id of a history without a user. */
  history: string;
  seq: number;
  id: string;
  itemId: string;
  type: string;
  occurredAt: Date | null;
  /** YYYY-MM-DD when the source gives only the day. */
  occurredOn: string | null;
  sessionOffsetMs: number | null;
}

/**
 * Events with an item of one kind of history, in the gateway's order (`seq`, then id, as
 * db/forecasts.ts subjectHistories reads them), one page of `pageSize` rows at a time. A
 * user's history is every event with their user id (what a forecast for the user encodes); an
 * anonymous history is the events of one session that carry no user id (what a forecast for
 * the session encodes). Events without an item never reach the encoder and are left out.
 */
export async function* historyEventPages(
  q: Queryable,
  dataset: string,
  kind: 'user' | 'session',
  pageSize: number,
): AsyncGenerator<HistoryEventRow[]> {
  const column = kind === 'user' ? 'user_id' : 'session_id';
  const which =
    kind === 'user' ? 'user_id IS NOT NULL' : 'user_id IS NULL AND session_id IS NOT NULL';
  let after: HistoryEventRow | undefined;
  for (;;) {
    const params: unknown[] = [dataset];
    let keyset = '';
    if (after) {
      params.push(after.history, after.seq, after.id);
      keyset = `AND (${column}, seq, id) > ($2, $3, $4::bigint)`;
    }
    const { rows } = await q.query<HistoryEventRow>(
      `SELECT ${column} AS history, seq, id::text AS id, item_id AS "itemId", type,
              occurred_at AS "occurredAt", to_char(occurred_on, 'YYYY-MM-DD') AS "occurredOn",
              session_offset_ms::float8 AS "sessionOffsetMs"
       FROM events
       WHERE dataset = $1 AND item_id IS NOT NULL AND ${which} ${keyset}
       ORDER BY ${column}, seq, id
       LIMIT ${pageSize}`,
      params,
    );
    if (rows.length === 0) return;
    yield rows;
    after = rows[rows.length - 1];
    if (rows.length < pageSize) return;
  }
}

/** Every dataset that has events, with its number of events, by name. */
export async function datasetEventCounts(
  q: Queryable,
): Promise<{ dataset: string; events: number }[]> {
  const { rows } = await q.query<{ dataset: string; events: number }>(
    'SELECT dataset, count(*)::int AS events FROM events GROUP BY dataset ORDER BY dataset',
  );
  return rows;
}

/**
 * The categories (in position order) of each item that `dataset`'s events name, by item id;
 * items without a category are left out.
 */
export async function categoriesOfEventItems(
  q: Queryable,
  dataset: string,
): Promise<{ itemId: string; categories: string[] }[]> {
  const { rows } = await q.query<{ itemId: string; categories: string[] }>(
    `SELECT ic.item_id AS "itemId",
            array_agg(ic.category_id ORDER BY ic.position, ic.category_id) AS categories
     FROM item_categories ic
     WHERE EXISTS (SELECT 1 FROM events e WHERE e.item_id = ic.item_id AND e.dataset = $1)
     GROUP BY ic.item_id
     ORDER BY ic.item_id`,
    [dataset],
  );
  return rows;
}

/**
 * The tree of `dataset`'s categories: each category with its parent (null for a root), by id.
 */
export async function categoryTree(
  q: Queryable,
  dataset: string,
): Promise<{ id: string; parentId: string | null }[]> {
  const { rows } = await q.query<{ id: string; parentId: string | null }>(
    `SELECT id, parent_id AS "parentId" FROM categories WHERE dataset = $1 ORDER BY id`,
    [dataset],
  );
  return rows;
}
