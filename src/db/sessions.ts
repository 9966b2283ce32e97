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
