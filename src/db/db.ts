/**
 * One database interface over pg.Pool and PGlite, so every PostgreSQL repository also runs embedded.
 * Inside `transaction`, use only the handle passed to the callback: PGlite has a single connection
 * and a query on the outer handle would wait for the transaction that is waiting for it.
 */
export interface QueryResult<Row> {
  rows: Row[];
  rowCount: number;
}

export interface Queryable {
  query<Row = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<QueryResult<Row>>;
  /** Runs a script of several statements without parameters (migrations). */
  exec(sql: string): Promise<void>;
}

export interface Db extends Queryable {
  readonly kind: 'postgres' | 'pglite';
  transaction<T>(work: (tx: Queryable) => Promise<T>): Promise<T>;
  /**
   * Runs `work` only if this process wins the named PostgreSQL session advisory lock, held on one connection
   * for the whole run: one runner per name across every instance on the database.
   */
  tryExclusive<T>(name: string, work: () => Promise<T>): Promise<{ ran: true; result: T } | { ran: false }>;
  /** Closes the connections; a second call waits for the first and does nothing more. */
  close(): Promise<void>;
}

/** The first half of every advisory lock key the service takes, so they cannot collide with other users'. */
export const ADVISORY_LOCK_NAMESPACE = 7316;

/** PostgreSQL error codes the services react to. */
export const PgErrorCode = {
  uniqueViolation: '23505',
  serializationFailure: '40001',
  deadlockDetected: '40P01',
} as const;

export function pgErrorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

export function constraintName(error: unknown): string | undefined {
  const constraint = (error as { constraint?: unknown } | null)?.constraint;
  return typeof constraint === 'string' ? constraint : undefined;
}
