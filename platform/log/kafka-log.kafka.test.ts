/**
 * Runs the Log contract against a real broker: `npm run services -- up kafka` and
 * WACOFLOW_KAFKA_BROKERS=127.0.0.1:9092 (CI sets both).
 */
import { describe, it } from 'vitest';
import { serviceAddress } from '../../test/services.ts';
import { KafkaLog } from './kafka-log.ts';
import { logContract } from './log-contract.ts';

const brokers = serviceAddress('WACOFLOW_KAFKA_BROKERS');
if (brokers) {
  logContract('kafka', () => new KafkaLog({ brokers: brokers.split(','), client_id: 'wacoflow-contract-test' }));
} else {
  describe('Log contract: kafka', () => {
    it.skipIf(true)('needs WACOFLOW_KAFKA_BROKERS (npm run services -- up kafka)', () => {});
  });
}
