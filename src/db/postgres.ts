// Server back-end: a node-postgres Pool against a real PostgreSQL with pgvector.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import {
  DbError,
  QueryListeners,
  type Db,
  type Queryable,
  type QueryResult,
  type SessionSettings,
} from './client.js';

/**
 * Opens a pool on `url` and checks that the server answers. `settings` are sent as startup
 * options (`-c name=value`), so every pooled connection has them without a round trip.
 */
export async function openPostgres(
  url: string,
  maxConnections = 10,
  settings: SessionSettings = {},
): Promise<Db> {
  const db = await openPostgresLazily(url, settings, maxConnections);
  try {
    await db.query('SELECT 1');
  } catch (err) {
    await db.close();
    const cause = (err as Error).cause ?? err; // the driver's error, not the query wrapper's
    throw new DbError(`cannot reach PostgreSQL: ${(cause as Error).message}`, cause);
  }
  return db;
}

/** A pool on `url` that connects at its first statement (a read replica that may be down). */
export async function openPostgresLazily(
  url: string,
  settings: SessionSettings = {},
  maxConnections = 10,
): Promise<Db> {
  const pool = new pg.Pool({
    connectionString: url,
    max: maxConnections,
    // A database host that stops answering (rather than refusing) fails a connect in 5 s,
    // not after the operating system's TCP timeout: the request gets UNAVAILABLE to retry.
    connectionTimeoutMillis: 5_000,
    ...(Object.keys(settings).length > 0 && { options: startupOptions(url, settings) }),
  });
  const listeners = new QueryListeners();

  const wrap = (target: pg.Pool | pg.PoolClient): Queryable => ({
    async query<R>(sql: string, params: unknown[] = []): Promise<QueryResult<R>> {
      listeners.emit(sql);
      try {
        const res = await target.query(sql, params);
        return { rows: res.rows as R[] };
      } catch (err) {
        throw new DbError(`query failed: ${(err as Error).message}`, err);
      }
    },
    async exec(sql: string): Promise<void> {
      listeners.emit(sql);
      try {
        await target.query(sql); // no parameters → simple protocol, several statements allowed
      } catch (err) {
        throw new DbError(`script failed: ${(err as Error).message}`, err);
      }
    },
  });

  // An idle pooled connection whose server process ends (restart, admin termination) emits
  // 'error' on the pool; without a listener that would crash the process. The pool drops the
  // client and the next query opens a fresh one; queries in flight still see their own error.
  pool.on('error', () => undefined);

  return {
    kind: 'postgres',
    settings: { ...settings },
    ...wrap(pool),
    async transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
      // A checked-out client has no pool listener: a connection that dies between statements
      // (restart, pg_terminate_backend) would emit 'error' to nobody and crash the process.
      // The listener goes on in the callback, in the tick the pool hands the client over: the
      // server's termination notice can be parsed in that same tick (one TCP read with the
      // end of the client's previous query), before an awaited connect() would resume. A
      // client that saw an error, or whose ROLLBACK failed (it may still be inside the
      // transaction), is destroyed rather than handed to the next caller.
      let broken: Error | undefined;
      const onError = (err: Error) => {
        broken ??= err;
      };
      let client: pg.PoolClient;
      try {
        client = await new Promise<pg.PoolClient>((resolve, reject) =>
          pool.connect((err, c) => {
            if (err || !c) return reject(err ?? new Error('pool handed over no client'));
            c.on('error', onError);
            resolve(c);
          }),
        );
      } catch (err) {
        throw new DbError(`cannot connect to PostgreSQL: ${(err as Error).message}`, err);
      }
      const control = async (sql: 'BEGIN' | 'COMMIT') => {
        listeners.emit(sql);
        try {
          await client.query(sql);
        } catch (err) {
          throw new DbError(`${sql} failed: ${(err as Error).message}`, err);
        }
      };
      try {
        await control('BEGIN');
        const result = await fn(wrap(client));
        await control('COMMIT');
        return result;
      } catch (err) {
        await client.query('ROLLBACK').catch((e: unknown) => {
          broken ??= e instanceof Error ? e : new Error(String(e));
        });
        throw err;
      } finally {
        client.removeListener('error', onError);
        client.release(broken);
      }
    },
    onQuery: (l) => listeners.add(l),
    close: () => pool.end(),
  };
}

/** `-c name=value …` for `settings`, after any `options` the URL carries (pg would let an
 * explicit `options` replace those). */
function startupOptions(url: string, settings: SessionSettings): string {
  const escape = (v: string) => v.replace(/[\\ ]/g, '\\$&');
  return [
    new URL(url).searchParams.get('options'),
    ...Object.entries(settings).map(([k, v]) => `-c ${k}=${escape(v)}`),
  ]
    .filter(Boolean)
    .join(' ');
}

/**
 * A new, empty database `<prefix>_<random hex>` on the server of `adminUrl` (test suites, the
 * replay): its URL, and `drop` to remove it again (connections to it are closed by force).
 */
export async function createTemporaryDatabase(
  adminUrl: string,
  prefix: string,
): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `${prefix}_${randomBytes(6).toString('hex')}`;
  const admin = async (sql: string) => {
    const c = new pg.Client({ connectionString: adminUrl });
    await c.connect();
    try {
      await c.query(sql);
    } finally {
      await c.end();
    }
  };
  await admin(`CREATE DATABASE ${name}`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return { url: url.toString(), drop: () => admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) };
}
