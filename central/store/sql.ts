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

/** What a write that reads nothing back needs. A SqlExecutor is one; so is CombinedWrites. */
export interface SqlWriter {
  query(text: string, params?: unknown[]): Promise<unknown>;
}

/**
 * Writes that read nothing back, collected and sent as one statement when flushed, each a data-modifying WITH:
 * the transaction pays one round trip for all of them instead of one each. Under load a transaction costs
 * central mostly its round trips (docs/benchmarks.md). The writes share one snapshot and run in no set order,
 * so none may depend on another's rows, and no two may change the same row.
 */
export class CombinedWrites implements SqlWriter {
  private readonly tx: SqlExecutor;
  private readonly parts: { text: string; params: unknown[] }[] = [];

  constructor(tx: SqlExecutor) {
    this.tx = tx;
  }

  async query(text: string, params: unknown[] = []): Promise<void> {
    this.parts.push({ text, params });
  }

  /** Sends what was collected (nothing, when nothing was). */
  async flush(): Promise<void> {
    const parts = this.parts.splice(0);
    if (parts.length === 0) return;
    if (parts.length === 1) {
      await this.tx.query(parts[0]!.text, parts[0]!.params);
      return;
    }
    // Each part's $n becomes $(n + the parameters of the parts before it). The store's statements hold no
    // dollar-quoted text, so every $n in them is a parameter.
    const params: unknown[] = [];
    const ctes = parts.map((p, i) => {
      const offset = params.length;
      params.push(...p.params);
      return `w${i} AS (${p.text.replace(/\$(\d+)/g, (_, n: string) => `$${Number(n) + offset}`)})`;
    });
    await this.tx.query(`WITH ${ctes.join(',\n')} SELECT 1`, params);
  }
}
