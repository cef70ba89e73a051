/**
 * KafkaLog's pure parts. The producer's partitioner remembers each key's partition; it must answer exactly as
 * kafkajs's default (murmur2, as Java clients do), or a key's records would move partitions and lose their
 * order. And kafkajs's log entries get the level an operator should see.
 */
import { logLevel, Partitioners, type PartitionerArgs } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { kafkaEntryLevel, rememberingPartitioner } from './kafka-log.ts';

const metadata = (n: number): PartitionerArgs['partitionMetadata'] =>
  Array.from({ length: n }, (_, partitionId) => ({ partitionId, leader: 0, replicas: [0], isr: [0], partitionErrorCode: 0 }));

describe('rememberingPartitioner', () => {
  it('gives every key the partition the default partitioner gives it, as the partition count changes', () => {
    const remembering = rememberingPartitioner();
    const plain = Partitioners.DefaultPartitioner();
    const keys = Array.from({ length: 2_000 }, (_, i) => `station-${i * 7919}`);
    const seen = new Set<number>();
    for (const partitions of [6, 6, 12, 1]) {
      for (const key of keys) {
        const args = { topic: 'wacoflow.windows.v1', partitionMetadata: metadata(partitions), message: { key, value: 'x' } };
        const p = remembering(args);
        expect(p).toBe(plain(args));
        seen.add(p);
      }
    }
    expect(seen.size).toBe(12); // the keys spread over every partition
  });

  it('leaves keyless messages and set partitions to the default', () => {
    const remembering = rememberingPartitioner();
    const args = { topic: 't', partitionMetadata: metadata(6), message: { key: 'k', value: 'x', partition: 4 } };
    expect(remembering(args)).toBe(4);
    expect(remembering({ topic: 't', partitionMetadata: metadata(6), message: { key: 'k', value: 'x' } })).toBe(Partitioners.DefaultPartitioner()({ topic: 't', partitionMetadata: metadata(6), message: { key: 'k', value: 'x' } }));
  });
});

describe('kafkaEntryLevel', () => {
  it('logs what kafkajs retries by itself as information, the rest as kafkajs rates it', () => {
    // Seen at central's first start on a new Kafka, before the offsets topic exists.
    expect(kafkaEntryLevel(logLevel.ERROR, 'The group coordinator is not available')).toBe('info');
    expect(kafkaEntryLevel(logLevel.ERROR, 'The coordinator is loading and hence can\'t process requests')).toBe('info');
    expect(kafkaEntryLevel(logLevel.ERROR, 'There is no leader for this topic-partition as we are in the middle of a leadership election')).toBe('info');
    expect(kafkaEntryLevel(logLevel.ERROR, 'Connection error: connect ECONNREFUSED 127.0.0.1:9092')).toBe('error');
    expect(kafkaEntryLevel(logLevel.WARN, 'Connection error: connect ECONNREFUSED 127.0.0.1:9092')).toBe('warn');
    expect(kafkaEntryLevel(logLevel.ERROR, undefined)).toBe('error');
  });
});
