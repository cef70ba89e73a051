/** PostgreSQL adapter: the only file that imports pg. */
import { createHash } from 'node:crypto';
import pg from 'pg';
import { ERR, WacoflowError } from '../../platform/errors.ts';
import type { SqlDriver, SqlExecutor } from './sql.ts';

const INT8_OID = 20;
/** Refusals that pass: the server is starting or shutting down, or its connection slots are full. */
const SQLSTATE_WAIT = new Set(['57P03', '57P01', '53300', '08006', '08001']);

/** int8 as a JS number, like PGlite, so the store's code sees one type on both drivers. */
const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === INT8_OID ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser,
};

export async function openPostgres(url: string, max_connections = 5): Promise<SqlDriver> {
  const pool = new pg.Pool({ connectionString: url, max: max_connections, types, connectionTimeoutMillis: 5_000 });
  pool.on('error', () => {}); // an idle client's error surfaces on the next query instead of crashing the process
  try {
    const c = await pool.connect();
    c.release();
  } catch (err) {
    await pool.end();
    const sqlstate = (err as { code?: string }).code ?? '';
    if (/^[0-9A-Z]{5}$/.test(sqlstate) && !SQLSTATE_WAIT.has(sqlstate)) {
      // The server answered and refused: a wrong user, password or database name. Waiting will not mend it.
      throw new WacoflowError(ERR.CONFIG, `database_url: PostgreSQL at ${redact(url)} refused the connection: ${(err as Error).message} (SQLSTATE ${sqlstate}); check the user, password and database in the URL`, { cause: err });
    }
    throw new WacoflowError(ERR.STORE_UNAVAILABLE, `PostgreSQL at ${redact(url)} is not reachable: ${(err as Error).message}`, { retriable: true, cause: err });
  }
  const exec = (q: pg.Pool | pg.PoolClient): SqlExecutor => ({
    query: async <T>(text: string, params?: unknown[]) => {
      const r = await q.query(params && params.length > 0 ? { text, values: params, name: statementName(text) } : { text, values: params });
      return { rows: r.rows as T[] };
    },
    exec: async (text: string) => {
      await q.query(text); // no parameters: the simple query protocol runs several statements
    },
  });
  return {
    kind: 'postgres',
    ...exec(pool),
    async transaction(fn) {
      const client = await pool.connect();
      let broken: Error | undefined;
      // A checked-out client reports a dropped connection as an 'error' event, which without a listener ends the
      // process; the statement in flight rejects as well, so noting it here is enough.
      const onError = (err: Error): void => void (broken = err);
      client.on('error', onError);
      try {
        await client.query('BEGIN');
        const result = await fn(exec(client));
        await client.query('COMMIT');
        return result;
      } catch (err) {
        // A connection whose ROLLBACK failed is in an unknown state: destroy it rather than pool it.
        await client.query('ROLLBACK').catch((e: Error) => (broken = e));
        throw err;
      } finally {
        client.off('error', onError);
        client.release(broken);
      }
    },
    close: () => pool.end(),
  };
}

const names = new Map<string, string>();
function statementName(text: string): string {
  let n = names.get(text);
  if (n === undefined) names.set(text, (n = `wf${createHash('sha1').update(text).digest('hex').slice(0, 16)}`));
  return n;
}

/** The URL without its password, for messages. */
export function redact(url: string): string {
  return url.replace(/\/\/([^:/@]+):[^@]*@/, '//$1:***@');
}
