// Shopping sessions (a visit); anonymous when user_id is null.
import { insertIgnoringConflicts } from './bulk.js';
import type { Queryable } from './client.js';
import { selectPagesOfParents, type Keyset, type Page, type PageRequest } from './paging.js';
import { type Visit } from './page-views.js';

export interface SessionRow {
  id: string;
  dataset: string;
  userId: string | null;
  startedAt: Date | null;
  lastEventAt: Date | null;
  /** Visit attributes sent with its events (migration 014); `{}` when none. */
  visit: Visit;
}

const COLUMNS = `id, dataset, user_id AS "userId", started_at AS "startedAt", last_event_at AS "lastEventAt", visit`;
export const SESSION_KEYSET: Keyset = {
  columns: ['id'],
  types: ['text'],
  direction: 'asc',
};

export async function getSessionsByIds(
  q: Queryable,
  ids: readonly string[],
): Promise<SessionRow[]> {
  const { rows } = await q.query<SessionRow>(
    `SELECT ${COLUMNS} FROM sessions WHERE id = ANY($1::text[])`,
    [ids],
  );
  return rows;
}

/** One page of sessions for each user in `userIds`, in one statement. */
export function pageSessionsOfUsers(
  q: Queryable,
  userIds: readonly string[],
  req: PageRequest,
): Promise<Page<SessionRow>[]> {
  return selectPagesOfParents<SessionRow>(
    q,
    {
      select: COLUMNS,
      from: 'sessions',
      parentColumn: 'user_id',
      keyset: SESSION_KEYSET,
      parentOf: (r) => r.userId,
    },
    userIds,
    req,
  );
}

export function insertSessions(
  q: Queryable,
  sessions: { id: string; dataset: string; userId: string | null }[],
): Promise<number> {
  return insertIgnoringConflicts(
    q,
    'sessions',
    ['id', 'dataset', 'user_id'],
    sessions.map((s) => [s.id, s.dataset, s.userId]),
  );
}

/**
 * Cuts the sessions of `dataset`'s events that wait for one (events_pending_session: imported
 * with a shopper and a time, without a session): per shopper, in time order, a session ends
 * when the next event comes more than `gapMs` later. A session is named `<user id>@<its first
 * event's time, UTC>` (so a re-run names it alike), created with the shopper, and its events
 * stop waiting. Returns how many sessions were created and how many events got one.
 */
export async function cutSessionsByInactivity(
  q: Queryable,
  dataset: string,
  gapMs: number,
): Promise<{ sessions: number; events: number }> {
  const { rows } = await q.query<{ sessions: number; events: number }>(
    `WITH waiting AS (
       SELECT e.id, e.user_id, e.occurred_at,
              CASE WHEN e.occurred_at - lag(e.occurred_at) OVER w <= $2 * interval '1 millisecond'
                   THEN 0 ELSE 1 END AS starts
       FROM events e JOIN events_pending_session p ON p.event_id = e.id
       WHERE e.dataset = $1 AND e.session_id IS NULL AND e.user_id IS NOT NULL
         AND e.occurred_at IS NOT NULL
       WINDOW w AS (PARTITION BY e.user_id ORDER BY e.occurred_at, e.id)
     ), numbered AS (
       SELECT id, user_id, occurred_at,
              sum(starts) OVER (PARTITION BY user_id ORDER BY occurred_at, id) AS k
       FROM waiting
     ), cut AS (
       SELECT id, user_id, user_id || '@' || to_char(
                min(occurred_at) OVER (PARTITION BY user_id, k) AT TIME ZONE 'UTC',
                'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS session_id
       FROM numbered
     ), created AS (
       INSERT INTO sessions (id, dataset, user_id)
       SELECT DISTINCT session_id, $1, user_id FROM cut
       ON CONFLICT DO NOTHING
       RETURNING 1
     ), assigned AS (
       UPDATE events e SET session_id = cut.session_id FROM cut WHERE e.id = cut.id RETURNING e.id
     )
     SELECT (SELECT count(*) FROM created)::int AS sessions,
            (SELECT count(*) FROM assigned)::int AS events`,
    [dataset, gapMs],
  );
  await q.query(
    `DELETE FROM events_pending_session p USING events e
     WHERE p.event_id = e.id AND e.dataset = $1`,
    [dataset],
  );
  return rows[0] ?? { sessions: 0, events: 0 };
}

/** Sets each of `dataset`'s sessions' first and last event times from its events' times. */
export async function refreshSessionTimes(q: Queryable, dataset: string): Promise<void> {
  await q.query(
    `UPDATE sessions s SET started_at = x.first_at, last_event_at = x.last_at
     FROM (SELECT session_id, min(occurred_at) AS first_at, max(occurred_at) AS last_at
           FROM events WHERE dataset = $1 AND session_id IS NOT NULL AND occurred_at IS NOT NULL
           GROUP BY session_id) x
     WHERE s.id = x.session_id
       AND (s.started_at, s.last_event_at) IS DISTINCT FROM (x.first_at, x.last_at)`,
    [dataset],
  );
}
