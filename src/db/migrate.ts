// Runs the SQL migrations in migrations/ (postgrator) on either back-end. Placeholders of the
// form {{NAME}} in a migration are replaced from `vars` (e.g. EMBEDDING_DIM from the model).
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Postgrator from 'postgrator';
import type { Db } from './client.js';

export const MIGRATIONS_DIR = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '../../migrations',
);

export async function migrate(
  db: Db,
  vars: Record<string, string | number>,
  dir = MIGRATIONS_DIR,
): Promise<{ applied: string[] }> {
  const render = (sql: string) =>
    sql.replace(/\{\{([A-Z_]+)\}\}/g, (_, name: string) => {
      const v = vars[name];
      if (v === undefined) throw new Error(`migration placeholder {{${name}}} has no value`);
      return String(v);
    });
  const [{ db: database } = { db: 'foresight' }] = (
    await db.query<{ db: string }>('SELECT current_database() AS db')
  ).rows;
  const postgrator = new Postgrator({
    migrationPattern: path.join(dir, '*.sql'),
    driver: 'pg',
    database,
    schemaTable: 'schemaversion',
    execQuery: (sql) => db.query(sql),
    // Each migration runs in its own transaction: a failing one leaves nothing behind.
    execSqlScript: (sql) => db.transaction((tx) => tx.exec(render(sql))),
  });
  const applied = await postgrator.migrate();
  return { applied: applied.map((m) => m.filename) };
}
