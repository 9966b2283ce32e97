// Chooses the storage back-end from configuration: DATABASE_URL → PostgreSQL, else PGlite.
import type { Db } from './client.js';
import { openPglite } from './pglite.js';
import { openPostgres } from './postgres.js';

export type { Db, Queryable } from './client.js';

export function openDb(opts: { databaseUrl?: string | undefined; dataDir?: string }): Promise<Db> {
  return opts.databaseUrl ? openPostgres(opts.databaseUrl) : openPglite(opts.dataDir);
}
