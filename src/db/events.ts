// The append-only behaviour log: lookups, per-user / per-session pages, bulk import and the
// transactional, idempotent ingestion of event batches from the API.
import { insertIgnoringConflicts } from './bulk.js';
import type { Db, Queryable } from './client.js';
import { existingItemIds } from './items.js';
import { selectPagesOfParents, type Keyset, type PageRequest } from './paging.js';
import { insertUsers } from './users.js';
import { badUserInput } from '../errors.js';
import { type PageKind, type Visit } from './page-views.js';

/**
 * Training declares the same list (foresight_training/contract.py; test/models/names.test.ts).
 * New types go at the end: a shipped model's `eventTypes` must stay a prefix of this list.
 */
export const EVENT_TYPES = ['VIEW', 'CART', 'PURCHASE', 'SEARCH', 'WISHLIST'] as const;
/** Longest search text stored (events.query): a shopper's query, DIGINETICA's hashed tokens. */
export const MAX_QUERY_LENGTH = 1000;
export type EventType = (typeof EVENT_TYPES)[number];

export interface EventRow {
  id: string;
  clientEventId: string;
  dataset: string;
  userId: string | null;
  sessionId: string | null;
  type: EventType;
  itemId: string | null;
  query: string | null;
  occurredAt: Date | null;
  /** ISO date (YYYY-MM-DD) when the source gives only the day. */
  occurredOn: string | null;
  sessionOffsetMs: number | null;
  seq: number;
  /** The served forecast this event is feedback on. */
  forecastId?: string | null;
  /** The page view a VIEW recorded (migration 014); null otherwise. */
  page?: PageViewFields | null;
}

/** A page view as a VIEW event records it (what the purchase-intent model reads). */
export interface PageViewFields {
  kind: PageKind;
  durationSeconds: number;
  value: number | null;
  bounceRate: number | null;
  exitRate: number | null;
}

const COLUMNS = `id::text AS id, client_event_id AS "clientEventId", dataset, user_id AS "userId",
  session_id AS "sessionId", type, item_id AS "itemId", query, occurred_at AS "occurredAt",
  to_char(occurred_on, 'YYYY-MM-DD') AS "occurredOn", session_offset_ms::float8 AS "sessionOffsetMs", seq,
  forecast_id::text AS "forecastId",
  CASE WHEN page_kind IS NULL THEN NULL ELSE json_build_object('kind', page_kind,
    'durationSeconds', page_duration_s, 'value', page_value, 'bounceRate', page_bounce_rate,
    'exitRate', page_exit_rate) END AS page`;

/** A user's history, newest first. */
export const USER_EVENTS_KEYSET: Keyset = {
  columns: ['seq', 'id'],
  types: ['int', 'bigint'],
  direction: 'desc',
};
/** A session's events, oldest first. */
export const SESSION_EVENTS_KEYSET: Keyset = {
  ...USER_EVENTS_KEYSET,
  direction: 'asc',
};

export async function getEventsByIds(q: Queryable, ids: readonly string[]): Promise<EventRow[]> {
  const numeric = ids.filter((id) => /^\d{1,18}$/.test(id));
  if (numeric.length === 0) return [];
  const { rows } = await q.query<EventRow>(
    `SELECT ${COLUMNS} FROM events WHERE id = ANY($1::bigint[])`,
    [numeric],
  );
  return rows;
}

const pageEventsOf = (parentColumn: 'user_id' | 'session_id', keyset: Keyset) => {
  const parentOf =
    parentColumn === 'user_id' ? (r: EventRow) => r.userId : (r: EventRow) => r.sessionId;
  return (q: Queryable, parentIds: readonly string[], req: PageRequest) =>
    selectPagesOfParents<EventRow>(
      q,
      { select: COLUMNS, from: 'events', parentColumn, keyset, parentOf },
      parentIds,
      req,
    );
};

/** A page of history (newest first) for each user, in one statement. */
export const pageEventsOfUsers = pageEventsOf('user_id', USER_EVENTS_KEYSET);
/** A page of events (oldest first) for each session, in one statement. */
export const pageEventsOfSessions = pageEventsOf('session_id', SESSION_EVENTS_KEYSET);

/**
 * An event as the importer writes it (idempotent by clientEventId), with its clock time when
 * the source gives one. One with a user and a time but no session waits for the importer to
 * cut its shopper's sessions (db/sessions.ts cutSessionsByInactivity).
 */
export type ImportedEvent = Omit<EventRow, 'id' | 'occurredAt'> & { occurredAt?: Date | null };

export async function insertEvents(q: Queryable, events: ImportedEvent[]): Promise<number> {
  const inserted = await insertIgnoringConflicts(
    q,
    'events',
    [
      'client_event_id',
      'dataset',
      'user_id',
      'session_id',
      'type',
      'item_id',
      'query',
      'occurred_at',
      'occurred_on',
      'session_offset_ms',
      'seq',
    ],
    events.map((e) => [
      e.clientEventId,
      e.dataset,
      e.userId,
      e.sessionId,
      e.type,
      e.itemId,
      e.query,
      e.occurredAt ?? null,
      e.occurredOn,
      e.sessionOffsetMs,
      e.seq,
    ]),
    { occurred_at: 'timestamptz', occurred_on: 'date', session_offset_ms: 'bigint', seq: 'int' },
  );
  const waiting = events.filter((e) => e.userId && !e.sessionId && e.occurredAt);
  if (waiting.length > 0)
    await q.query(
      `INSERT INTO events_pending_session (event_id)
       SELECT id FROM events WHERE client_event_id = ANY($1::text[]) AND session_id IS NULL
       ON CONFLICT DO NOTHING`,
      [waiting.map((e) => e.clientEventId)],
    );
  return inserted;
}

/**
 * Renumbers `seq` of a dataset's events from their known order: per user (per session for
 * anonymous sessions), by day (the day given, else the UTC day of the time), then time, then
 * session id, then offset within the session, then id (file order). Used after importing
 * sources whose rows are not in history order (DIGINETICA, a shop's exports).
 */
export async function renumberSequences(q: Queryable, dataset: string): Promise<void> {
  await q.query(
    `UPDATE events e SET seq = o.rn FROM (
       SELECT id, row_number() OVER (
         PARTITION BY coalesce(user_id, 's:' || session_id)
         ORDER BY coalesce(occurred_on, (occurred_at AT TIME ZONE 'UTC')::date) NULLS FIRST,
                  occurred_at NULLS FIRST, session_id, session_offset_ms NULLS FIRST, id) AS rn
       FROM events WHERE dataset = $1
     ) o WHERE e.id = o.id AND e.seq IS DISTINCT FROM o.rn`,
    [dataset],
  );
}

/** One event of an API batch, already shape-checked. */
export interface EventSubmission {
  clientEventId: string;
  type: EventType;
  userId: string | null;
  sessionId: string | null;
  itemId: string | null;
  query: string | null;
  occurredAt: Date | null;
  /** Feedback on this served forecast (a uuid, checked by the caller's shape check). */
  forecastId?: string | null;
  /** The page view (VIEW events; range-checked by the caller). */
  page?: PageViewFields | null;
  /** Visit attributes for the event's session (merged into sessions.visit, later wins). */
  visit?: Visit | null;
}

export interface RecordedEvent {
  event: EventRow;
  /** True when an event with this client id was already stored (a retried batch). */
  duplicate: boolean;
}

/**
 * `beauty:17` → `beauty`. The API stores no id without a dataset prefix (src/input-rules.ts
 * datasetOfStoredId); one looked up anyway (or stored before that rule) reads as `default`.
 */
export const datasetOf = (id: string) => {
  const i = id.indexOf(':');
  return i > 0 ? id.slice(0, i) : 'default';
};

/** The history an event's `seq` numbers it in: its user's, else its (anonymous) session's. */
const historyOf = (e: EventSubmission) => (e.userId ? `u:${e.userId}` : `s:${e.sessionId}`);

/**
 * Takes the transaction's lock on each history the batch appends to, in one global order (so
 * that batches naming the same histories in another order do not deadlock). Advisory locks,
 * not row locks: a brand-new user or session has no row to lock until a batch inserts it, and
 * concurrent batches into it would all read the same max(seq). Taken first, before the batch
 * looks anything up, so that every later statement sees what the previous holder committed.
 */
async function lockHistories(tx: Queryable, batch: EventSubmission[]): Promise<void> {
  const histories = [...new Set(batch.map(historyOf))];
  await tx.query(
    `SELECT count(pg_advisory_xact_lock(k)) FROM (
       SELECT DISTINCT hashtextextended('foresight.events:' || h, 0) AS k
       FROM unnest($1::text[]) AS h ORDER BY 1) AS ordered`,
    [histories],
  );
}

/**
 * Stores a batch all-or-nothing in one transaction. Events whose client id is already stored
 * are not written again (reported as duplicates); users and sessions are created on first
 * sight; `seq` continues each user's (or anonymous session's) history in batch order, without
 * gaps: concurrent batches into one history are serialised (lockHistories), and a duplicate
 * uses no number. `receivedAt` stands in for a missing occurredAt (the gateway's receipt time).
 */
export function recordEventBatch(
  db: Db,
  batch: EventSubmission[],
  receivedAt: Date,
): Promise<RecordedEvent[]> {
  return db.transaction(async (tx) => {
    await lockHistories(tx, batch);
    const ids = batch.map((e) => e.clientEventId);
    const { rows: stored } = await tx.query<EventRow>(
      `SELECT ${COLUMNS} FROM events WHERE client_event_id = ANY($1::text[])`,
      [ids],
    );
    const byClientId = new Map(stored.map((r) => [r.clientEventId, r]));
    const fresh: { e: EventSubmission; index: number }[] = [];
    const seen = new Set(byClientId.keys());
    batch.forEach((e, index) => {
      if (seen.has(e.clientEventId)) return;
      seen.add(e.clientEventId);
      fresh.push({ e, index });
    });

    const freshIds = new Set(fresh.map((f) => f.e.clientEventId));
    if (fresh.length > 0) {
      const inserted = await insertFresh(tx, fresh, receivedAt);
      for (const r of inserted) byClientId.set(r.clientEventId, r);
      // A concurrent retry of the same batch may have committed these between our first look
      // and our insert (ON CONFLICT skipped them): they are duplicates, stored by the other call.
      const lost = fresh.map((f) => f.e.clientEventId).filter((id) => !byClientId.has(id));
      if (lost.length > 0) {
        const { rows: late } = await tx.query<EventRow>(
          `SELECT ${COLUMNS} FROM events WHERE client_event_id = ANY($1::text[])`,
          [lost],
        );
        for (const r of late) {
          byClientId.set(r.clientEventId, r);
          freshIds.delete(r.clientEventId);
        }
      }
    }
    const reported = new Set<string>();
    return batch.map((e) => {
      const event = byClientId.get(e.clientEventId);
      if (!event) throw new Error(`event ${e.clientEventId} was neither stored nor found`);
      const duplicate = !freshIds.has(e.clientEventId) || reported.has(e.clientEventId);
      reported.add(e.clientEventId);
      return { event, duplicate };
    });
  });
}

async function insertFresh(
  tx: Queryable,
  fresh: { e: EventSubmission; index: number }[],
  receivedAt: Date,
): Promise<EventRow[]> {
  const itemIds = [...new Set(fresh.flatMap(({ e }) => (e.itemId ? [e.itemId] : [])))];
  const known = itemIds.length ? await existingItemIds(tx, itemIds) : new Set<string>();
  for (const { e, index } of fresh)
    if (e.itemId && !known.has(e.itemId))
      throw badUserInput(`events[${index}].itemId`, `unknown item "${e.itemId}"`);

  // Sorted: batches naming the same users in another order must not deadlock on them.
  const userIds = [...new Set(fresh.flatMap(({ e }) => (e.userId ? [e.userId] : [])))].sort();
  await insertUsers(
    tx,
    userIds.map((id) => ({ id, dataset: datasetOf(id) })),
  );

  const sessionIds = [...new Set(fresh.flatMap(({ e }) => (e.sessionId ? [e.sessionId] : [])))];
  const sessionUser = new Map<string, string | null>();
  if (sessionIds.length) {
    const { rows } = await tx.query<{ id: string; userId: string | null }>(
      `SELECT id, user_id AS "userId" FROM sessions WHERE id = ANY($1::text[]) ORDER BY id FOR UPDATE`,
      [sessionIds],
    );
    for (const r of rows) sessionUser.set(r.id, r.userId);
  }
  await checkFeedback(tx, fresh, sessionUser);
  const newSessions = new Map<string, string | null>();
  const claims = new Map<string, string>();
  for (const { e, index } of fresh) {
    if (!e.sessionId) continue;
    const owner = sessionUser.has(e.sessionId)
      ? sessionUser.get(e.sessionId)
      : newSessions.get(e.sessionId);
    if (owner && e.userId && owner !== e.userId)
      throw badUserInput(
        `events[${index}].sessionId`,
        `session "${e.sessionId}" belongs to another user`,
      );
    if (!sessionUser.has(e.sessionId) && (!newSessions.has(e.sessionId) || !owner))
      newSessions.set(e.sessionId, e.userId ?? owner ?? null);
    // An anonymous session claimed by this event belongs to its user for the rest of the batch.
    if (!owner && e.userId && sessionUser.has(e.sessionId)) {
      claims.set(e.sessionId, e.userId);
      sessionUser.set(e.sessionId, e.userId);
    }
  }
  if (newSessions.size) {
    // Sorted, as the users above.
    const created = [...newSessions].sort((a, b) => (a[0] < b[0] ? -1 : 1));
    await tx.query(
      `INSERT INTO sessions (id, dataset, user_id)
       SELECT * FROM unnest($1::text[], $2::text[], $3::text[])
       ON CONFLICT DO NOTHING`,
      [created.map((c) => c[0]), created.map((c) => datasetOf(c[0])), created.map((c) => c[1])],
    );
  }
  // A session first seen anonymously is attached to the user who later signs in during it.
  for (const [sessionId, userId] of claims)
    await tx.query('UPDATE sessions SET user_id = $2 WHERE id = $1 AND user_id IS NULL', [
      sessionId,
      userId,
    ]);

  // Continue each history's sequence numbers (its lock is held: lockHistories).
  const { rows: tops } = await tx.query<{ history: string; top: number }>(
    `SELECT 'u:' || user_id AS history, max(seq) AS top FROM events
       WHERE user_id = ANY($1::text[]) GROUP BY user_id
     UNION ALL
     SELECT 's:' || session_id, max(seq) FROM events
       WHERE user_id IS NULL AND session_id = ANY($2::text[]) GROUP BY session_id`,
    [userIds, sessionIds],
  );
  const top = new Map(tops.map((t) => [t.history, Number(t.top)]));
  const next = new Map(top);

  const params: unknown[] = [];
  const tuples = fresh.map(({ e }) => {
    const h = historyOf(e);
    const seq = (next.get(h) ?? 0) + 1;
    next.set(h, seq);
    const values = [
      e.clientEventId,
      datasetOf(e.userId ?? e.sessionId ?? ''),
      e.userId,
      e.sessionId,
      e.type,
      e.itemId,
      e.query,
      e.occurredAt ?? receivedAt,
      seq,
      e.forecastId ?? null,
      e.page?.kind ?? null,
      e.page?.durationSeconds ?? null,
      e.page?.value ?? null,
      e.page?.bounceRate ?? null,
      e.page?.exitRate ?? null,
    ];
    const ph = values.map((v) => {
      params.push(v);
      return `$${params.length}`;
    });
    return `(${ph.join(', ')})`;
  });
  const { rows } = await tx.query<EventRow>(
    `INSERT INTO events (client_event_id, dataset, user_id, session_id, type, item_id, query,
                         occurred_at, seq, forecast_id, page_kind, page_duration_s, page_value,
                         page_bounce_rate, page_exit_rate)
     VALUES ${tuples.join(', ')}
     ON CONFLICT (client_event_id) DO NOTHING
     RETURNING ${COLUMNS}`,
    params,
  );
  if (rows.length < fresh.length) await closeGaps(tx, fresh, rows, top);

  // Visit attributes, merged per session in batch order (a later event's values replace an
  // earlier one's), then one statement for the batch.
  const visits = new Map<string, Visit>();
  for (const { e } of fresh)
    if (e.visit && e.sessionId) visits.set(e.sessionId, { ...visits.get(e.sessionId), ...e.visit });
  if (visits.size)
    await tx.query(
      `UPDATE sessions s SET visit = s.visit || v.visit
       FROM unnest($1::text[], $2::jsonb[]) AS v(id, visit) WHERE s.id = v.id`,
      [[...visits.keys()], [...visits.values()].map((v) => JSON.stringify(v))],
    );
  if (sessionIds.length)
    await tx.query(
      `UPDATE sessions s SET
         started_at = LEAST(s.started_at, x.first_at),
         last_event_at = GREATEST(s.last_event_at, x.last_at)
       FROM (SELECT session_id, min(occurred_at) AS first_at, max(occurred_at) AS last_at
             FROM events WHERE session_id = ANY($1::text[]) GROUP BY session_id) x
       WHERE s.id = x.session_id`,
      [sessionIds],
    );
  return rows;
}

/**
 * Renumbers the inserted `rows` when some of `fresh` were not inserted — another transaction
 * stored an event under the same client id first (for another history, or the locks would have
 * shown it) — so that the numbers they were given are not left as gaps: each history continues
 * from `top` in batch order. Rare, so it costs nothing on the usual path.
 */
async function closeGaps(
  tx: Queryable,
  fresh: { e: EventSubmission }[],
  rows: EventRow[],
  top: Map<string, number>,
): Promise<void> {
  const byClientId = new Map(rows.map((r) => [r.clientEventId, r]));
  const next = new Map(top);
  const moved: EventRow[] = [];
  for (const { e } of fresh) {
    const row = byClientId.get(e.clientEventId);
    if (!row) continue;
    const seq = (next.get(historyOf(e)) ?? 0) + 1;
    next.set(historyOf(e), seq);
    if (row.seq !== seq) {
      row.seq = seq;
      moved.push(row);
    }
  }
  if (moved.length > 0)
    await tx.query(
      `UPDATE events e SET seq = v.seq FROM unnest($1::bigint[], $2::int[]) AS v(id, seq)
       WHERE e.id = v.id`,
      [moved.map((r) => r.id), moved.map((r) => r.seq)],
    );
}

/**
 * Feedback events must follow a forecast that exists, was served to their shopper (its user or
 * its session; an anonymous visitor's forecast to anyone) and served their item.
 */
async function checkFeedback(
  tx: Queryable,
  fresh: { e: EventSubmission; index: number }[],
  sessionUser: Map<string, string | null>,
): Promise<void> {
  const ids = [...new Set(fresh.flatMap(({ e }) => (e.forecastId ? [e.forecastId] : [])))];
  if (ids.length === 0) return;
  const { rows } = await tx.query<{
    id: string;
    userId: string | null;
    sessionId: string | null;
    itemIds: string[];
  }>(
    `SELECT id::text AS id, user_id AS "userId", session_id AS "sessionId",
            ARRAY(SELECT x->>'itemId' FROM jsonb_array_elements(items) x) AS "itemIds"
     FROM forecasts WHERE id = ANY($1::uuid[])`,
    [ids],
  );
  const byId = new Map(rows.map((r) => [r.id, r]));
  for (const { e, index } of fresh) {
    if (!e.forecastId) continue;
    const field = `events[${index}].forecastId`;
    const f = byId.get(e.forecastId);
    if (!f)
      throw badUserInput(
        field,
        `no served forecast with id "${e.forecastId}" (unknown, or older than the attribution window FORECAST_RETENTION_DAYS)`,
      );
    const owner = e.userId ?? (e.sessionId ? sessionUser.get(e.sessionId) : null) ?? null;
    const anonymous = f.userId === null && f.sessionId === null;
    const mine =
      anonymous ||
      (f.userId !== null && f.userId === owner) ||
      (f.sessionId !== null && f.sessionId === e.sessionId);
    if (!mine)
      throw badUserInput(field, `forecast "${e.forecastId}" was served to another shopper`);
    if (!e.itemId || !f.itemIds.includes(e.itemId))
      throw badUserInput(
        field,
        `forecast "${e.forecastId}" did not serve item "${e.itemId ?? ''}"`,
      );
  }
}

/** How many stored events carry each client event id starting with `prefix` (the fault drill's
 * audit: an acknowledged id missing is a lost event, a count above 1 a duplicate). */
export async function clientEventIdCounts(
  q: Queryable,
  prefix: string,
): Promise<Map<string, number>> {
  const { rows } = await q.query<{ id: string; n: number }>(
    `SELECT client_event_id AS id, count(*)::int AS n FROM events
     WHERE starts_with(client_event_id, $1) GROUP BY client_event_id`,
    [prefix],
  );
  return new Map(rows.map((r) => [r.id, r.n]));
}
