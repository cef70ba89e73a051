/**
 * The store contract on a real PostgreSQL: WACOFLOW_DATABASE_URL (CI: postgres://postgres@127.0.0.1:5432/test).
 * Each run works in a schema of its own and drops it afterwards.
 */
import { afterAll, describe, it } from 'vitest';
import { serviceAddress } from '../../test/services.ts';
import { openPostgres } from './pg-driver.ts';
import { storeContract } from './store-contract.ts';
import { withSchema } from './test-schema.ts';

const url = serviceAddress('WACOFLOW_DATABASE_URL');
if (url) {
  const scoped = withSchema(url);
  afterAll(() => scoped.drop());
  storeContract('PostgreSQL', async () => openPostgres(await scoped.url()));
} else {
  describe('Store: PostgreSQL', () => {
    it.skipIf(true)('needs WACOFLOW_DATABASE_URL (npm run services -- up postgres)', () => {});
  });
}
