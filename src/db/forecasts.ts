// Served forecasts and the behaviour they are computed from.
import type { Queryable } from './client.js';

export interface SubjectEventRow {
  id: string;
  userId: string | null;
  sessionId: string | null;
  type: string;
  itemId: string | null;
  occurredAt: Date | null;
  seq: number;
}

const SUBJECT_EVENT_COLUMNS = `id::text AS id, user_id AS "userId", session_id AS "sessionId",
  type, item_id AS "itemId", occurred_at AS "occurredAt", seq`;

/** The newest `limit` events of each user (or session), oldest first, in one statement. */
export async function recentEventsOf(
  q: Queryable,
  subject: 'user' | 'session',
  ids: readonly string[],
  limit: number,
): Promise<Map<string, SubjectEventRow[]>> {
  const column = subject === 'user' ? 'user_id' : 'session_id';
  const { rows } = await q.query<SubjectEventRow>(
    `SELECT ${SUBJECT_EVENT_COLUMNS} FROM (
       SELECT e.*, row_number() OVER (PARTITION BY e.${column} ORDER BY e.seq DESC, e.id DESC) AS rn
       FROM events e WHERE e.${column} = ANY($1::text[])) t
     WHERE rn <= $2 ORDER BY t.${column}, t.seq, t.id`,
    [ids, limit],
  );
  return groupBy(rows, (r) => (subject === 'user' ? r.userId : r.sessionId) as string);
}

/** Which of these ids exist, with their dataset. */
export async function subjectDatasets(
  q: Queryable,
  table: 'users' | 'sessions',
  ids: readonly string[],
): Promise<Map<string, string>> {
  if (ids.length === 0) return new Map();
  const { rows } = await q.query<{ id: string; dataset: string }>(
    `SELECT id, dataset FROM ${table} WHERE id = ANY($1::text[])`,
    [ids],
  );
  return new Map(rows.map((r) => [r.id, r.dataset]));
}

export interface ForecastRecord {
  id: string;
  mode: 'MODEL' | 'POPULARITY';
  modelVersion: string;
  userId: string | null;
  sessionId: string | null;
  basedOnEvents: number;
  items: { itemId: string; rank: number; score: number }[];
  categories: { categoryId: string; probability: number }[];
  purchaseProbability: number | null;
  createdAt: Date;
}

/** Stores a batch of served forecasts in one statement. */
export async function insertForecasts(
  q: Queryable,
  records: readonly ForecastRecord[],
): Promise<void> {
  if (records.length === 0) return;
  await q.query(
    `INSERT INTO forecasts (id, mode, model_version, user_id, session_id, based_on_events,
                            items, categories, purchase_probability, created_at)
     SELECT (r->>'id')::uuid, r->>'mode', r->>'modelVersion', r->>'userId', r->>'sessionId',
            (r->>'basedOnEvents')::int, r->'items', r->'categories',
            (r->>'purchaseProbability')::real, (r->>'createdAt')::timestamptz
     FROM jsonb_array_elements($1::jsonb) AS r`,
    [JSON.stringify(records)],
  );
}

function groupBy<T>(rows: readonly T[], key: (r: T) => string): Map<string, T[]> {
  const m = new Map<string, T[]>();
  for (const r of rows) {
    const k = key(r);
    const list = m.get(k);
    if (list) list.push(r);
    else m.set(k, [r]);
  }
  return m;
}
