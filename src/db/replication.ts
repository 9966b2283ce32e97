// What read routing (read-routing.ts) asks the servers: WAL positions of the primary and the
// replica, and the subject_writes table (migrations/023.do.subject-writes.sql). Positions are
// pg_lsn values, compared here as bigints.
import type { Queryable } from './client.js';

/** `16/B374D848` → its byte position. */
export function parseLsn(text: string): bigint {
  const [hi, lo] = text.split('/');
  return (BigInt(`0x${hi}`) << 32n) | BigInt(`0x${lo}`);
}

/** The primary's current WAL write position. */
export async function primaryLsn(db: Queryable): Promise<bigint> {
  const { rows } = await db.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn');
  return parseLsn(rows[0]!.lsn);
}

/** The position a standby has replayed to; null when the server is not a standby (a primary,
 * or a replica that was promoted). */
export async function replayLsn(db: Queryable): Promise<bigint | null> {
  const { rows } = await db.query<{ lsn: string | null }>(
    'SELECT CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn()::text END AS lsn',
  );
  const lsn = rows[0]?.lsn;
  return lsn ? parseLsn(lsn) : null;
}

/**
 * Records, on the primary, that `subjects` were just written: their position is the WAL insert
 * position now, past the commit of the write that preceded this statement.
 */
export async function noteSubjectWrites(db: Queryable, subjects: readonly string[]): Promise<void> {
  await db.query(
    `INSERT INTO subject_writes (subject, lsn, at)
     SELECT s, pg_current_wal_insert_lsn(), now() FROM unnest($1::text[]) AS s
     ON CONFLICT (subject) DO UPDATE SET lsn = EXCLUDED.lsn, at = EXCLUDED.at`,
    [subjects],
  );
}

/** The newest write position of any of `subjects`; null when none was noted. */
export async function latestSubjectWrite(
  db: Queryable,
  subjects: readonly string[],
): Promise<bigint | null> {
  const { rows } = await db.query<{ lsn: string | null }>(
    'SELECT max(lsn)::text AS lsn FROM subject_writes WHERE subject = ANY($1::text[])',
    [subjects],
  );
  const lsn = rows[0]?.lsn;
  return lsn ? parseLsn(lsn) : null;
}

/** Deletes the notes older than `seconds`. */
export async function deleteOldSubjectWrites(db: Queryable, seconds: number): Promise<void> {
  await db.query('DELETE FROM subject_writes WHERE at < now() - make_interval(secs => $1)', [
    seconds,
  ]);
}
