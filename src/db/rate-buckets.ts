// The rate_buckets table (migrations/022.do.rate-buckets.sql): token buckets that every gateway
// process shares. One statement per request, timed by the database's clock so that the
// processes' own clocks do not matter; the row lock of the upsert orders concurrent takes.
import type { Queryable } from './client.js';

export interface BucketTake {
  admitted: boolean;
  /** Tokens left after the take. */
  tokens: number;
}

/** Refilled tokens of the stored bucket `b` at the new row's time, at most `$2`. */
const REFILLED =
  'least($2::float8, b.tokens + greatest(0, extract(epoch FROM EXCLUDED.at - b.at)::float8) * $3::float8)';

/**
 * Takes `cost` tokens from bucket `key` of `capacity` tokens refilled at `perSecond`, when it
 * holds them; a new bucket starts full. Nothing is taken from a bucket that is refused.
 */
export async function takeTokens(
  db: Queryable,
  key: string,
  capacity: number,
  perSecond: number,
  cost: number,
): Promise<BucketTake> {
  const { rows } = await db.query<BucketTake>(
    `INSERT INTO rate_buckets AS b (key, tokens, at, admitted)
     VALUES ($1, CASE WHEN $4::float8 <= $2::float8 THEN $2::float8 - $4::float8 ELSE $2::float8 END,
             clock_timestamp(), $4::float8 <= $2::float8)
     ON CONFLICT (key) DO UPDATE SET
       admitted = ${REFILLED} >= $4::float8,
       tokens = ${REFILLED} - CASE WHEN ${REFILLED} >= $4::float8 THEN $4::float8 ELSE 0 END,
       at = greatest(b.at, EXCLUDED.at)
     RETURNING admitted, tokens`,
    [key, capacity, perSecond, cost],
  );
  const row = rows[0]!;
  return { admitted: row.admitted, tokens: Number(row.tokens) };
}

/** Deletes buckets untouched for `idleSeconds` (full again: a new one would be the same). */
export async function deleteIdleBuckets(db: Queryable, idleSeconds: number): Promise<number> {
  const { rows } = await db.query<{ n: number }>(
    `WITH gone AS (DELETE FROM rate_buckets WHERE at < clock_timestamp() - make_interval(secs => $1)
     RETURNING 1) SELECT count(*)::int AS n FROM gone`,
    [idleSeconds],
  );
  return rows[0]?.n ?? 0;
}
