// Embedded back-end: PGlite (PostgreSQL compiled to WebAssembly) with its pgvector extension,
// persisted in a data directory. One connection, so statements are serialised by PGlite.
import { mkdir } from 'node:fs/promises';
import { PGlite, type Transaction } from '@electric-sql/pglite';
import { vector } from '@electric-sql/pglite/vector';
import {
  DbError,
  QueryListeners,
  type Db,
  type Queryable,
  type QueryResult,
  type SessionSettings,
} from './client.js';

/**
 * Opens (creating if needed) a PGlite database; `dataDir` undefined = in memory. `settings`
 * are set once at session level (PGlite has one connection).
 */
export async function openPglite(
  dataDir: string | undefined,
  settings: SessionSettings = {},
): Promise<Db> {
  if (dataDir) await mkdir(dataDir, { recursive: true });
  const pg = await PGlite.create(dataDir ?? 'memory://', {
    extensions: { vector },
  });
  for (const [name, value] of Object.entries(settings)) {
    await pg.query('SELECT set_config($1, $2, false)', [name, value]);
  }
  const listeners = new QueryListeners();

  const wrap = (target: PGlite | Transaction): Queryable => ({
    async query<R>(sql: string, params: unknown[] = []): Promise<QueryResult<R>> {
      listeners.emit(sql);
      try {
        const res = await target.query<R>(sql, params);
        return { rows: res.rows };
      } catch (err) {
        throw new DbError(`query failed: ${(err as Error).message}`, err);
      }
    },
    async exec(sql: string): Promise<void> {
      listeners.emit(sql);
      try {
        await target.exec(sql);
      } catch (err) {
        throw new DbError(`script failed: ${(err as Error).message}`, err);
      }
    },
  });

  return {
    kind: 'pglite',
    settings: { ...settings },
    ...wrap(pg),
    transaction: (fn) => pg.transaction((tx) => fn(wrap(tx))),
    onQuery: (l) => listeners.add(l),
    close: () => pg.close(),
  };
}
