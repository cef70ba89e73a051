/** A throw-away schema on a real PostgreSQL, so test runs never see each other's tables. For tests only. */
import { randomBytes } from 'node:crypto';
import pg from 'pg';

export function withSchema(base_url: string): { url(): Promise<string>; drop(): Promise<void> } {
  const schema = `wf_test_${randomBytes(6).toString('hex')}`;
  const run = async (sql: string): Promise<void> => {
    const c = new pg.Client({ connectionString: base_url });
    await c.connect();
    try {
      await c.query(sql);
    } finally {
      await c.end();
    }
  };
  let created = false;
  return {
    async url() {
      if (!created) await run(`CREATE SCHEMA ${schema}`);
      created = true;
      const u = new URL(base_url);
      u.searchParams.set('options', `-c search_path=${schema}`);
      return u.toString();
    },
    async drop() {
      if (created) await run(`DROP SCHEMA ${schema} CASCADE`);
    },
  };
}
