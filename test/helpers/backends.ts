// The storage back-ends every suite runs on: embedded PGlite always, and a real PostgreSQL
// (a fresh database per suite, dropped afterwards) when TEST_DATABASE_URL answers — default
// postgres://postgres@127.0.0.1:5432/test. Under CI=true an unreachable PostgreSQL fails the
// suites instead of skipping them.
import pg from 'pg';
import type { Db, SessionSettings } from '../../src/db/client.js';
import { migrate } from '../../src/db/migrate.js';
import { openPglite } from '../../src/db/pglite.js';
import { createTemporaryDatabase, openPostgres } from '../../src/db/postgres.js';

export interface Backend {
  name: 'pglite' | 'postgres';
  /**
   * A new, migrated, empty database and a function that disposes of it; `url` for another
   * process to connect to it (PostgreSQL only).
   */
  open(settings?: SessionSettings): Promise<{ db: Db; dispose: () => Promise<void>; url?: string }>;
}

const adminUrl = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const ci = process.env.CI === 'true';

async function reachable(url: string): Promise<string | null> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return null;
  } catch (err) {
    return (err as Error).message;
  } finally {
    await client.end().catch(() => undefined);
  }
}

const pglite: Backend = {
  name: 'pglite',
  async open(settings) {
    const db = await openPglite(undefined, settings);
    await migrate(db, { EMBEDDING_DIM: 64 });
    return { db, dispose: () => db.close() };
  },
};

const postgres: Backend = {
  name: 'postgres',
  async open(settings) {
    const { url, drop } = await createTemporaryDatabase(adminUrl, 'foresight_t');
    const db = await openPostgres(url, undefined, settings);
    await migrate(db, { EMBEDDING_DIM: 64 });
    return {
      db,
      url,
      dispose: async () => {
        await db.close();
        await drop();
      },
    };
  },
};

const unreachable = await reachable(adminUrl);
if (unreachable && !ci)
  console.warn(`PostgreSQL suites skipped: ${adminUrl} unreachable (${unreachable})`);

/** Back-ends to run on; under CI an unreachable PostgreSQL is kept (and fails). */
export const backends: Backend[] =
  unreachable && !ci
    ? [pglite]
    : [
        pglite,
        unreachable
          ? {
              name: 'postgres',
              open: () =>
                Promise.reject(new Error(`CI=true but PostgreSQL is unreachable: ${unreachable}`)),
            }
          : postgres,
      ];
