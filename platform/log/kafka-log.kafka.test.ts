/**
 * Runs the Log contract against a real broker: `npm run services -- up kafka` and
 * WACOFLOW_KAFKA_BROKERS=127.0.0.1:9092 (CI sets both).
 */
import { randomUUID } from 'node:crypto';
import { Kafka, ConfigResourceTypes } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { serviceAddress } from '../../test/services.ts';
import { KafkaLog } from './kafka-log.ts';
import { logContract } from './log-contract.ts';

const brokers = serviceAddress('WACOFLOW_KAFKA_BROKERS');
if (brokers) {
  logContract('kafka', () => new KafkaLog({ brokers: brokers.split(','), client_id: 'wacoflow-contract-test' }));

  describe('KafkaLog topics', () => {
    it('creates a compacted topic when asked (operator commands are kept for good)', async () => {
      const log = new KafkaLog({ brokers: brokers.split(','), client_id: 'wacoflow-compact-test' });
      const [compacted, plain] = [`test-compact-${randomUUID().slice(0, 8)}`, `test-plain-${randomUUID().slice(0, 8)}`];
      await log.ensureTopics([{ name: compacted, partitions: 1, compact: true }, { name: plain, partitions: 1 }]);
      const admin = new Kafka({ brokers: brokers.split(','), clientId: 'wacoflow-compact-test' }).admin();
      await admin.connect();
      try {
        const { resources } = await admin.describeConfigs({
          includeSynonyms: false,
          resources: [compacted, plain].map((name) => ({ type: ConfigResourceTypes.TOPIC, name, configNames: ['cleanup.policy'] })),
        });
        const policy = Object.fromEntries(resources.map((r) => [r.resourceName, r.configEntries[0]?.configValue]));
        expect(policy).toEqual({ [compacted]: 'compact', [plain]: 'delete' });
      } finally {
        await admin.disconnect();
        await log.close();
      }
    });
  });

  describe('KafkaLog producer', () => {
    it('keeps sending after a send the broker refused (the failed producer is replaced, nothing is lost)', async () => {
      const log = new KafkaLog({ brokers: brokers.split(','), client_id: 'wacoflow-refused-test' });
      const topic = `test-refused-${randomUUID().slice(0, 8)}`;
      await log.ensureTopics([{ name: topic, partitions: 1 }]);
      const producer = await log.producer();
      const admin = new Kafka({ brokers: brokers.split(','), clientId: 'wacoflow-refused-test' }).admin();
      await admin.connect();
      try {
        await producer.send(topic, [{ key: 'k', value: Buffer.from('before') }]);
        // Past the broker's message.max.bytes (1 MiB by default): refused, and reported as such.
        const refused = await producer.send(topic, [{ key: 'k', value: Buffer.alloc(2 * 1024 * 1024, 0x61) }]).then(() => null, (e: unknown) => e as { code?: string });
        expect(refused?.code).toBe('WF_ERR_LOG_UNAVAILABLE');
        await Promise.all(['a', 'b', 'c'].map((v) => producer.send(topic, [{ key: 'k', value: Buffer.from(v) }])));
        const [offsets] = await admin.fetchTopicOffsets(topic);
        expect(Number(offsets!.high)).toBe(4); // 'before' and a, b, c: the refused record never landed
      } finally {
        await admin.disconnect();
        await producer.close();
        await log.close();
      }
    }, 60_000);
  });
} else {
  describe('Log contract: kafka', () => {
    it.skipIf(true)('needs WACOFLOW_KAFKA_BROKERS (npm run services -- up kafka)', () => {});
  });
}
