// The one small query surface that both storage back-ends (embedded PGlite, server PostgreSQL)
// implement. Everything above src/db/ talks to the database through this interface only.

export interface QueryResult<R> {
  rows: R[];
}

/** Something SQL can be sent to: the database itself or an open transaction. */
export interface Queryable {
  /** Runs one statement with positional parameters ($1, $2, …). */
  query<R = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<QueryResult<R>>;
  /** Runs a script of several statements without parameters (migrations). */
  exec(sql: string): Promise<void>;
}

export type QueryListener = (sql: string) => void;

/** Run-time settings (`SET name = value`) by name, e.g. `{ jit: 'off' }`. */
export type SessionSettings = Readonly<Record<string, string>>;

export interface Db extends Queryable {
  readonly kind: 'pglite' | 'postgres';
  /**
   * Settings every connection has at session level from the moment it opens, so that a
   * statement that needs them does not have to set them in a transaction of its own.
   */
  readonly settings: SessionSettings;
  /** Runs `fn` in one transaction: committed when it resolves, rolled back when it throws. */
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  /** Calls `listener` for every statement sent (tests count them); returns an unsubscribe. */
  onQuery(listener: QueryListener): () => void;
  close(): Promise<void>;
}

/** Shared listener bookkeeping for the two back-ends. */
export class QueryListeners {
  private readonly listeners = new Set<QueryListener>();

  add(listener: QueryListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  emit(sql: string): void {
    for (const l of this.listeners) l(sql);
  }
}

/** Wraps a driver error so the SQL is kept for logs while the original stays as `cause`. */
export class DbError extends Error {
  readonly code: string | undefined;
  constructor(message: string, cause: unknown) {
    super(message, { cause });
    this.name = 'DbError';
    this.code = (cause as { code?: string } | null)?.code;
  }
}

/** SQLSTATEs (besides class 08, connection exception) after which the session is gone or was
 * never opened: admin_shutdown, crash_shutdown, cannot_connect_now, too_many_connections. */
const CONNECTION_SQLSTATES: ReadonlySet<string> = new Set(['57P01', '57P02', '57P03', '53300']);
const SOCKET_ERRNOS: ReadonlySet<string> = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE']);
/** What node-postgres and pg-pool raise for a connection that ended under them (pg 8):
 * "Connection terminated unexpectedly" / "… due to connection timeout", and "Client has
 * encountered a connection error and is not queryable" for a client used after that. */
const DRIVER_MESSAGE = /^(Connection terminated|Client has encountered a connection error)/;

/**
 * True when `err` (or an error in its `cause` chain, or one of an AggregateError's) says the
 * connection to the database was lost or could not be opened, rather than that the statement
 * failed: the request may succeed when retried on a new connection. Severity FATAL means the
 * server ended the session, whatever the code (e.g. 55000 for a database that does not
 * currently accept connections).
 */
/** Resolves when the database answers a trivial statement (readiness checks). */
export async function ping(db: Queryable): Promise<void> {
  await db.query('SELECT 1');
}

export function isConnectionError(err: unknown): boolean {
  const seen = new Set<unknown>();
  const visit = (e: unknown): boolean => {
    if (typeof e !== 'object' || e === null || seen.has(e)) return false;
    seen.add(e);
    const { code, severity, message, cause, errors } = e as {
      code?: unknown;
      severity?: unknown;
      message?: unknown;
      cause?: unknown;
      errors?: unknown;
    };
    if (typeof code === 'string') {
      if (code.startsWith('08') || CONNECTION_SQLSTATES.has(code) || SOCKET_ERRNOS.has(code))
        return true;
    }
    if (severity === 'FATAL' || severity === 'PANIC') return true;
    if (typeof message === 'string' && DRIVER_MESSAGE.test(message)) return true;
    return visit(cause) || (Array.isArray(errors) && errors.some(visit));
  };
  return visit(err);
}
