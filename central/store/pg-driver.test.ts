/**
 * The PostgreSQL driver when the connection drops under it (WACOFLOW_DATABASE_URL): a transaction whose
 * connection is reset fails like any error, the process carries on, and the next transaction works once the
 * database is reachable again. The connection runs through a fault proxy, as in the fault harness.
 */
import { describe, expect, it } from 'vitest';
import { FaultProxy } from '../../chaos/proxy.ts';
import { serviceAddress } from '../../test/services.ts';
import { openPostgres } from './pg-driver.ts';

const url = serviceAddress('WACOFLOW_DATABASE_URL');

describe.skipIf(!url)('PostgreSQL driver, connection lost mid-transaction', () => {
  it('rejects that transaction without ending the process, then recovers', async () => {
    const db = new URL(url!);
    const proxy = await new FaultProxy({ host: db.hostname, port: Number(db.port || 5432) }).listen();
    db.host = `127.0.0.1:${proxy.port}`;
    const driver = await openPostgres(db.toString());
    try {
      const running = driver.transaction(async (tx) => {
        await tx.query('SELECT 1');
        await tx.query('SELECT pg_sleep(2)');
        return 'committed';
      });
      await new Promise((r) => setTimeout(r, 300));
      proxy.set('refuse'); // resets the open connections, refuses new ones
      await expect(running).rejects.toThrow();
      await expect(driver.query('SELECT 1')).rejects.toThrow();
      proxy.set('pass');
      const again = await driver.transaction(async (tx) => (await tx.query<{ n: number }>('SELECT 41 + 1 AS n')).rows[0]!.n);
      expect(again).toBe(42);
    } finally {
      await driver.close();
      await proxy.close();
    }
  });
});
