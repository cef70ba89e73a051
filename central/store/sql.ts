/**
 * The small interface the store's SQL runs on. Two drivers implement it: PostgreSQL (`pg`) and PGlite
 * (PostgreSQL compiled to WebAssembly, in-process). The SQL is the same for both; both return int8 as a JS
 * number (epoch milliseconds and offsets stay well inside 2^53).
 */
export interface SqlExecutor {
  query<T = Record<string, unknown>>(text: string, params?: unknown[]): Promise<{ rows: T[] }>;
  /** Runs several statements without parameters (migrations). */
  exec(text: string): Promise<void>;
}

export interface SqlDriver extends SqlExecutor {
  readonly kind: 'pglite' | 'postgres';
  /** Runs `fn` in one transaction (READ COMMITTED); commits if it resolves, rolls back if it throws. */
  transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}
