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
