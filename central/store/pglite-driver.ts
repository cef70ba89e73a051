/** PGlite adapter: the only file that imports @electric-sql/pglite. */
import { PGlite } from '@electric-sql/pglite';
import type { SqlDriver, SqlExecutor } from './sql.ts';

/** `data_dir` undefined keeps the database in memory; a path persists it there. */
export async function openPglite(data_dir?: string): Promise<SqlDriver> {
  const db = await PGlite.create(data_dir);
  const exec = (q: Pick<PGlite, 'query' | 'exec'>): SqlExecutor => ({
    query: async <T>(text: string, params?: unknown[]) => {
      const r = await q.query<T>(text, params);
      return { rows: r.rows };
    },
    exec: async (text: string) => {
      await q.exec(text);
    },
  });
  return {
    kind: 'pglite',
    ...exec(db),
    transaction: (fn) => db.transaction((tx) => fn(exec(tx))),
    close: () => db.close(),
  };
}
