// Shoppers.
import { insertIgnoringConflicts } from './bulk.js';
import type { Queryable } from './client.js';
import { selectPage, type Keyset, type Page, type PageRequest } from './paging.js';

export interface UserRow {
  id: string;
  dataset: string;
  profile: Record<string, unknown>;
  createdAt: Date;
}

const COLUMNS = `id, dataset, profile, created_at AS "createdAt"`;
export const USER_KEYSET: Keyset = {
  columns: ['id'],
  types: ['text'],
  direction: 'asc',
};

export async function getUsersByIds(q: Queryable, ids: readonly string[]): Promise<UserRow[]> {
  const { rows } = await q.query<UserRow>(
    `SELECT ${COLUMNS} FROM users WHERE id = ANY($1::text[])`,
    [ids],
  );
  return rows;
}

export function listUsers(
  q: Queryable,
  filter: { dataset?: string },
  req: PageRequest,
): Promise<Page<UserRow>> {
  const byDataset = filter.dataset !== undefined;
  return selectPage<UserRow>(
    q,
    {
      select: COLUMNS,
      from: 'users',
      where: byDataset ? ['dataset = $1'] : [],
      params: byDataset ? [filter.dataset] : [],
      keyset: USER_KEYSET,
    },
    req,
  );
}

export function insertUsers(
  q: Queryable,
  users: { id: string; dataset: string; profile?: Record<string, unknown> }[],
): Promise<number> {
  return insertIgnoringConflicts(
    q,
    'users',
    ['id', 'dataset', 'profile'],
    users.map((u) => [u.id, u.dataset, JSON.stringify(u.profile ?? {})]),
    { profile: 'text::jsonb' },
  );
}

/** Creates the user or replaces its profile (the dataset is kept for an existing user). */
export async function upsertUser(
  q: Queryable,
  user: { id: string; dataset: string; profile: Record<string, unknown> },
): Promise<UserRow> {
  const { rows } = await q.query<UserRow>(
    `INSERT INTO users (id, dataset, profile) VALUES ($1, $2, $3::jsonb)
     ON CONFLICT (id) DO UPDATE SET profile = EXCLUDED.profile
     RETURNING ${COLUMNS}`,
    [user.id, user.dataset, JSON.stringify(user.profile)],
  );
  return rows[0] as UserRow;
}

/** The ids of `dataset`'s users, in id order. */
export async function userIdsOfDataset(q: Queryable, dataset: string): Promise<string[]> {
  const { rows } = await q.query<{ id: string }>(
    'SELECT id FROM users WHERE dataset = $1 ORDER BY id',
    [dataset],
  );
  return rows.map((r) => r.id);
}

/** The datasets that have users, in name order. */
export async function datasetsWithUsers(q: Queryable): Promise<string[]> {
  const { rows } = await q.query<{ dataset: string }>(
    'SELECT DISTINCT dataset FROM users ORDER BY dataset',
  );
  return rows.map((r) => r.dataset);
}
