// Chooses the storage back-end from configuration: DATABASE_URL → PostgreSQL, else PGlite.
import type { Db, SessionSettings } from './client.js';
import { openPglite } from './pglite.js';
import { openPostgres } from './postgres.js';

export type { Db, Queryable, SessionSettings } from './client.js';

export function openDb(opts: {
  databaseUrl?: string | undefined;
  dataDir?: string;
  /** Session-level settings of every connection (see Db.settings). */
  settings?: SessionSettings;
}): Promise<Db> {
  return opts.databaseUrl
    ? openPostgres(opts.databaseUrl, undefined, opts.settings)
    : openPglite(opts.dataDir, opts.settings);
}
