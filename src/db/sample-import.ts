// The sample_import table: whether the bundled sample was imported into this database, and
// whether an import was started and not finished (migrations/011.do.sample-import.sql).
import type { Queryable } from './client.js';

/** `empty`: no items and no events; `unfinished`: an import of `name` started, never finished. */
export async function sampleImportState(
  db: Queryable,
  name: string,
): Promise<{ empty: boolean; unfinished: boolean }> {
  const { rows } = await db.query<{ empty: boolean; unfinished: boolean }>(
    `SELECT NOT EXISTS (SELECT 1 FROM items) AND NOT EXISTS (SELECT 1 FROM events) AS empty,
            EXISTS (SELECT 1 FROM sample_import WHERE name = $1 AND completed_at IS NULL)
              AS unfinished`,
    [name],
  );
  return rows[0] ?? { empty: false, unfinished: false };
}

export async function markSampleImportStarted(db: Queryable, name: string): Promise<void> {
  await db.query(`INSERT INTO sample_import (name) VALUES ($1) ON CONFLICT (name) DO NOTHING`, [
    name,
  ]);
}

export async function markSampleImportDone(db: Queryable, name: string): Promise<void> {
  await db.query(`UPDATE sample_import SET completed_at = now() WHERE name = $1`, [name]);
}
