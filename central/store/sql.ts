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
 * Writes that read nothing back, collected and sent as one statement, each a data-modifying WITH: with the
 * next statement whose rows the transaction wants (`queryWith`), or on their own when flushed. The transaction
 * pays no round trip of its own for them. Under load a transaction costs central mostly its round trips
 * (docs/benchmarks.md). The writes share one snapshot with that statement and run in no set order, so none
 * may depend on another's rows or on the statement's, and no two may change the same row. A write may not
 * itself hold a data-modifying WITH (PostgreSQL allows those only at the top level).
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

  /** Sends what was collected (nothing, when nothing was; a single write as it is). */
  async flush(): Promise<void> {
    if (this.parts.length === 1) {
      const only = this.parts.pop()!;
      await this.tx.query(only.text, only.params);
    } else if (this.parts.length > 1) {
      await this.queryWith('SELECT 1', []);
    }
  }

  /** Runs `text` (which may begin with its own WITH) with what was collected so far, in one statement; its rows. */
  queryWith<T = Record<string, unknown>>(text: string, params: unknown[]): Promise<{ rows: T[] }> {
    const parts = this.parts.splice(0);
    if (parts.length === 0) return this.tx.query<T>(text, params);
    const { ctes, params: theirs } = combined(parts, params.length);
    const own = /^\s*WITH\s/i.exec(text);
    return this.tx.query<T>(own ? `WITH ${ctes},\n${text.slice(own[0].length)}` : `WITH ${ctes}\n${text}`, [...params, ...theirs]);
  }
}

/**
 * The parts as `w0 AS (…), w1 AS (…)`, each part's $n renumbered after `offset` parameters and those of the
 * parts before it. The store's statements hold no dollar-quoted text, so every $n in them is a parameter.
 */
function combined(parts: { text: string; params: unknown[] }[], offset: number): { ctes: string; params: unknown[] } {
  const params: unknown[] = [];
  const ctes = parts.map((p, i) => {
    const before = offset + params.length;
    params.push(...p.params);
    return `w${i} AS (${p.text.replace(/\$(\d+)/g, (_, n: string) => `$${Number(n) + before}`)})`;
  });
  return { ctes: ctes.join(',\n'), params };
}
