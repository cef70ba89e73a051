/**
 * The same end-to-end skeleton on real services: Kafka instead of the in-process log, PostgreSQL instead of
 * PGlite. Needs WACOFLOW_KAFKA_BROKERS and WACOFLOW_DATABASE_URL (npm run services -- up; CI sets both).
 */
import { afterAll, describe, it } from 'vitest';
import { withSchema } from '../central/store/test-schema.ts';
import { serviceAddress } from '../test/services.ts';
import { runSkeleton } from './app.e2e.ts';

const brokers = serviceAddress('WACOFLOW_KAFKA_BROKERS');
const database = serviceAddress('WACOFLOW_DATABASE_URL');

describe('walking skeleton on real Kafka and PostgreSQL', () => {
  if (!brokers || !database) {
    it.skipIf(true)('needs WACOFLOW_KAFKA_BROKERS and WACOFLOW_DATABASE_URL (npm run services -- up)', () => {});
    return;
  }
  const schema = withSchema(database);
  afterAll(() => schema.drop());
  it('turns simulated detector feeds into exact final station windows served over HTTP', async () => {
    await runSkeleton({ kafka_brokers: brokers.split(','), database_url: await schema.url() });
  }, 120_000);
});
