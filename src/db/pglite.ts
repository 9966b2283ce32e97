// Embedded back-end: PGlite (PostgreSQL compiled to WebAssembly) with its pgvector extension,
// persisted in a data directory. One connection, so statements are serialised by PGlite.
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
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
  let unlock = async () => {};
  if (dataDir) {
    await mkdir(dataDir, { recursive: true });
    unlock = await lockDataDir(dataDir);
  }
  let pg: PGlite;
  try {
    pg = await PGlite.create(dataDir ?? 'memory://', { extensions: { vector } });
  } catch (err) {
    await unlock();
    throw err;
  }
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
    close: async () => {
      await pg.close();
      await unlock();
    },
  };
}

const LOCK_FILE = 'foresight.lock';

/**
 * Claims `dir` for this process: PGlite has no locking of its own, and two processes writing
 * one data directory corrupt it. A lock left by a process that no longer runs is taken over.
 * Returns the release.
 */
async function lockDataDir(dir: string): Promise<() => Promise<void>> {
  const file = path.join(dir, LOCK_FILE);
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      await writeFile(file, String(process.pid), { flag: 'wx' });
      return () => rm(file, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const pid = Number((await readFile(file, 'utf8').catch(() => '')).trim());
    if (Number.isInteger(pid) && pid > 0 && isRunning(pid)) {
      throw new DbError(
        `${dir} is in use by process ${pid}: the embedded database allows one process per data ` +
          'directory. Stop that process first (or, for API keys, use its GraphQL API), or set ' +
          'DATABASE_URL to share a PostgreSQL server',
        null,
      );
    }
    await rm(file, { force: true }); // stale: its process has ended
  }
  throw new DbError(`could not lock ${dir} (${LOCK_FILE} keeps reappearing)`, null);
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
