// Row count and checksum of every table of the public schema (postgrator's bookkeeping left
// out), in one statement: what a refused request must leave as it was.
import type { Db } from '../../src/db/client.js';

export async function tableChecksums(db: Db): Promise<Record<string, string>> {
  const { rows: tables } = await db.query<{ name: string }>(
    `SELECT table_name AS name FROM information_schema.tables
     WHERE table_schema = 'public' AND table_type = 'BASE TABLE' AND table_name <> 'schemaversion'
     ORDER BY table_name`,
  );
  const columns = tables.map(
    ({ name }) =>
      `(SELECT count(*) || ':' || md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), ''))
        FROM "${name}" t) AS "${name}"`,
  );
  const { rows } = await db.query<Record<string, string>>(`SELECT ${columns.join(', ')}`);
  return rows[0]!;
}
