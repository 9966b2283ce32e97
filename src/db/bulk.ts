// Multi-row INSERT … ON CONFLICT DO NOTHING: the idempotent bulk write used by the importer
// and by event ingestion. Returns how many rows were actually new.
import type { Queryable } from './client.js';

// PostgreSQL takes 65,535 bind parameters per statement, but PGlite 0.4.6 answers a statement
// of more than 32,767 with no rows and no error (and nothing written): stay below both.
const MAX_PARAMS = 32_000;

export async function insertIgnoringConflicts(
  q: Queryable,
  table: string,
  columns: string[],
  rows: unknown[][],
  /** Optional SQL cast per column (e.g. 'jsonb'), applied to its placeholder. */
  casts: Record<string, string> = {},
): Promise<number> {
  if (rows.length === 0) return 0;
  const perStatement = Math.max(1, Math.floor(MAX_PARAMS / columns.length));
  let inserted = 0;
  for (let start = 0; start < rows.length; start += perStatement) {
    const chunk = rows.slice(start, start + perStatement);
    const params: unknown[] = [];
    const tuples = chunk.map((row) => {
      const ph = columns.map((c, i) => {
        params.push(row[i]);
        const cast = casts[c];
        return cast ? `$${params.length}::${cast}` : `$${params.length}`;
      });
      return `(${ph.join(', ')})`;
    });
    const { rows: res } = await q.query<{ n: number }>(
      `WITH ins AS (
         INSERT INTO ${table} (${columns.join(', ')}) VALUES ${tuples.join(', ')}
         ON CONFLICT DO NOTHING RETURNING 1
       ) SELECT count(*)::int AS n FROM ins`,
      params,
    );
    inserted += res[0]?.n ?? 0;
  }
  return inserted;
}

/** Refreshes the planner's statistics of `tables` (after a bulk import). */
export async function analyzeTables(db: Queryable, tables: readonly string[]): Promise<void> {
  if (tables.length > 0) await db.query(`ANALYZE ${tables.join(', ')}`);
}
