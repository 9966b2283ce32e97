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

export interface SubjectHistory {
  dataset: string;
  /** The user's profile attributes (for a session: its user's; `{}` when anonymous). */
  profile: Record<string, unknown>;
  /** The newest events, oldest first. */
  events: SubjectEventRow[];
}

/**
 * An event's time as the encoder reads it (its time gaps): `occurred_at`, else the day plus the
 * offset within the session that sources such as DIGINETICA give instead of a clock time, with
 * the session starting at midnight UTC, as training reads it (src/training/export-dataset.ts
 * eventTime).
 */
const EVENT_TIME_SQL = `coalesce(e.occurred_at,
  (e.occurred_on::timestamp AT TIME ZONE 'UTC') + e.session_offset_ms * interval '1 millisecond')`;

/**
 * The users (or sessions) of `ids` that exist, each with its dataset and its newest `limit`
 * events, oldest first — in one statement: a LATERAL index scan per subject reads only the
 * events it returns (a window over all of a subject's events cost twice as much).
 */
export async function subjectHistories(
  q: Queryable,
  subject: 'user' | 'session',
  ids: readonly string[],
  limit: number,
): Promise<Map<string, SubjectHistory>> {
  if (ids.length === 0) return new Map();
  const [table, column] = subject === 'user' ? ['users', 'user_id'] : ['sessions', 'session_id'];
  const profile =
    subject === 'user'
      ? 's.profile'
      : `coalesce((SELECT u.profile FROM users u WHERE u.id = s.user_id), '{}'::jsonb)`;
  const { rows } = await q.query<
    SubjectEventRow & { subject: string; dataset: string; profile: Record<string, unknown> }
  >(
    `SELECT s.id AS subject, s.dataset, ${profile} AS profile, e.id::text AS id, e.user_id AS "userId",
            e.session_id AS "sessionId", e.type, e.item_id AS "itemId",
            ${EVENT_TIME_SQL} AS "occurredAt", e.seq
     FROM ${table} s
     LEFT JOIN LATERAL (
       -- page views without an item (purchase intent's) are no behaviour on items
       SELECT * FROM events e
       WHERE e.${column} = s.id AND (e.item_id IS NOT NULL OR e.page_kind IS NULL)
       ORDER BY e.seq DESC, e.id DESC LIMIT $2
     ) e ON true
     WHERE s.id = ANY($1::text[])
     ORDER BY s.id, e.seq, e.id`,
    [ids, limit],
  );
  const out = new Map<string, SubjectHistory>();
  for (const { subject: id, dataset, profile, ...event } of rows) {
    let h = out.get(id);
    if (!h) out.set(id, (h = { dataset, profile, events: [] }));
    if (event.id !== null) h.events.push(event); // null: a subject without events
  }
  return out;
}

export interface ForecastRecord {
  id: string;
  mode: 'MODEL' | 'POPULARITY';
  modelVersion: string;
  userId: string | null;
  sessionId: string | null;
  basedOnEvents: number;
  /** The served slate: per item its rank, score and the policy's propensity for it there. */
  items: { itemId: string; rank: number; score: number; propensity: number; explored: boolean }[];
  categories: { categoryId: string; probability: number }[];
  purchaseProbability: number | null;
  /** The intent model and source behind purchaseProbability when it is the intent model's. */
  purchaseIntent: { modelVersion: string | null; source: string } | null;
  /** Which path served it (forecast/coldstart.ts ForecastStrategy). */
  strategy: string;
  /** The serving policy (exploration/policy.ts PolicyLog: key, ε, pool sizes, seed). */
  policy: { key: string };
  createdAt: Date;
}

/**
 * Stores a batch of served forecasts in one statement, its own transaction, committed
 * asynchronously (`synchronous_commit = off` for this transaction only): the rows are visible
 * as soon as the statement returns, but the forecast does not wait for the WAL flush (≈ 3 ms
 * on this machine, ~10 ms under load, on every batch). A crash of the database server can lose
 * the last fraction of a second of forecast records, never corrupt them; stored behaviour and
 * catalogue writes keep the server's synchronous commit. Must not run inside a transaction
 * whose other writes need synchronous commit.
 */
export async function insertForecasts(
  q: Queryable,
  records: readonly ForecastRecord[],
): Promise<void> {
  if (records.length === 0) return;
  await q.query(
    `WITH async_commit AS (SELECT set_config('synchronous_commit', 'off', true))
     INSERT INTO forecasts (id, mode, model_version, user_id, session_id, based_on_events,
                            items, categories, purchase_probability, purchase_intent, strategy,
                            policy, created_at)
     SELECT (r->>'id')::uuid, r->>'mode', r->>'modelVersion', r->>'userId', r->>'sessionId',
            (r->>'basedOnEvents')::int, r->'items', r->'categories',
            (r->>'purchaseProbability')::real, r->'purchaseIntent', r->>'strategy', r->'policy',
            (r->>'createdAt')::timestamptz
     FROM async_commit, jsonb_array_elements($1::jsonb) AS r`,
    [JSON.stringify(records)],
  );
}
