/**
 * One contract, every implementation: the same tests run against the in-process log and against real Kafka.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Log, LogBatch, LogConsumer, TopicPartition } from './log.ts';

async function until(cond: () => boolean, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 25));
  }
}

export function logContract(name: string, make: () => Log): void {
  describe(`Log contract: ${name}`, () => {
    let log: Log;
    beforeAll(() => {
      log = make();
    });
    afterAll(async () => {
      await log.close();
    });

    it('keeps per-key order, assigns offsets, and delivers every record once to a group', async () => {
      const topic = `contract-order-${randomUUID()}`;
      await log.ensureTopics([{ name: topic, partitions: 3 }]);
      await log.ensureTopics([{ name: topic, partitions: 3 }]); // idempotent
      const producer = await log.producer();
      const sent = Array.from({ length: 60 }, (_, i) => ({ key: `k${i % 7}`, value: Buffer.from(String(i)), headers: { type: `t${i % 2}` } }));
      await producer.send(topic, sent.slice(0, 30));
      await producer.send(topic, sent.slice(30));

      const got: { key: string | null; value: number; partition: number; offset: number; type: string | undefined }[] = [];
      const consumer = log.consumer(`g-${randomUUID()}`);
      await consumer.run({
        topics: [topic],
        eachBatch: async (b: LogBatch) => {
          for (const r of b.records) got.push({ key: r.key, value: Number(r.value.toString()), partition: r.partition, offset: r.offset, type: r.headers.type });
          await consumer.commit(b, b.records[b.records.length - 1]!.offset + 1);
        },
      });
      await until(() => got.length >= 60);
      await consumer.stop();
      await producer.close();

      expect(got.map((g) => g.value).sort((a, b) => a - b)).toEqual(sent.map((_, i) => i));
      expect(got.every((g) => g.type === `t${g.value % 2}`)).toBe(true);
      for (let k = 0; k < 7; k++) {
        const ofKey = got.filter((g) => g.key === `k${k}`);
        expect(new Set(ofKey.map((g) => g.partition)).size).toBe(1);
        expect(ofKey.map((g) => g.value)).toEqual([...ofKey.map((g) => g.value)].sort((a, b) => a - b));
        expect(ofKey.map((g) => g.offset)).toEqual([...ofKey.map((g) => g.offset)].sort((a, b) => a - b));
      }
    });

    it('lands every record of many concurrent sends to two topics, each key in the order it was sent', async () => {
      const [a, b] = [`contract-many-a-${randomUUID()}`, `contract-many-b-${randomUUID()}`];
      await log.ensureTopics([{ name: a, partitions: 3 }, { name: b, partitions: 2 }]);
      const producer = await log.producer();
      // 20 callers, each sending its own key 25 times, awaiting each send as a device's acknowledgement would.
      await Promise.all(
        Array.from({ length: 20 }, async (_, caller) => {
          for (let i = 0; i < 25; i++) {
            await producer.send(caller % 2 ? b : a, [{ key: `c${caller}`, value: Buffer.from(String(i)) }]);
          }
        }),
      );
      const got = new Map<string, number[]>();
      const consumer = log.consumer(`g-${randomUUID()}`);
      await consumer.run({
        topics: [a, b],
        eachBatch: async (batch: LogBatch) => {
          for (const r of batch.records) got.set(r.key!, [...(got.get(r.key!) ?? []), Number(r.value.toString())]);
          await consumer.commit(batch, batch.records[batch.records.length - 1]!.offset + 1);
        },
      });
      await until(() => [...got.values()].reduce((n, v) => n + v.length, 0) >= 500);
      await consumer.stop();
      await producer.close();
      expect(got.size).toBe(20);
      for (const values of got.values()) expect(values).toEqual(Array.from({ length: 25 }, (_, i) => i));
    });

    it('lands one send far larger than a broker takes in one request, each key in order', async () => {
      const topic = `contract-large-${randomUUID()}`;
      await log.ensureTopics([{ name: topic, partitions: 3 }]);
      const producer = await log.producer();
      // 4,000 records of 1 KiB: about 1.3 MiB for each partition, past Kafka's default 1 MiB per batch.
      const padding = 'x'.repeat(1_024);
      await producer.send(topic, Array.from({ length: 4_000 }, (_, i) => ({ key: `k${i % 11}`, value: Buffer.from(`${i} ${padding}`) })));
      const got = new Map<string, number[]>();
      let count = 0;
      const consumer = log.consumer(`g-${randomUUID()}`);
      await consumer.run({
        topics: [topic],
        eachBatch: async (batch: LogBatch) => {
          for (const r of batch.records) got.set(r.key!, [...(got.get(r.key!) ?? []), Number.parseInt(r.value.toString(), 10)]);
          count += batch.records.length;
          await consumer.commit(batch, batch.records[batch.records.length - 1]!.offset + 1);
        },
      });
      await until(() => count >= 4_000);
      await consumer.stop();
      await producer.close();
      expect(count).toBe(4_000);
      for (let k = 0; k < 11; k++) {
        expect(got.get(`k${k}`)).toEqual(Array.from({ length: 4_000 }, (_, i) => i).filter((i) => i % 11 === k));
      }
    }, 60_000);

    it('resumes a group from its committed offsets and honours seek', async () => {
      const topic = `contract-resume-${randomUUID()}`;
      const group = `g-${randomUUID()}`;
      await log.ensureTopics([{ name: topic, partitions: 1 }]);
      const producer = await log.producer();
      await producer.send(topic, Array.from({ length: 10 }, (_, i) => ({ key: 'k', value: Buffer.from(String(i)) })));

      const first: number[] = [];
      const c1 = log.consumer(group);
      await c1.run({
        topics: [topic],
        eachBatch: async (b) => {
          // Process only up to offset 4 and commit 5: the rest must come again to the next member.
          const mine = b.records.filter((r) => r.offset < 5);
          first.push(...mine.map((r) => r.offset));
          if (mine.length > 0) await c1.commit(b, mine[mine.length - 1]!.offset + 1);
          if (mine.length < b.records.length) c1.seek(b, 5);
        },
      });
      await until(() => first.length >= 5);
      await c1.stop();

      await producer.send(topic, [{ key: 'k', value: Buffer.from('10') }]);
      const second: number[] = [];
      let rewound = false;
      const c2 = log.consumer(group);
      await c2.run({
        topics: [topic],
        eachBatch: async (b) => {
          if (!rewound) {
            rewound = true; // rewind once to 7: offsets 5 and 6 are not delivered again
            c2.seek(b, 7);
            return;
          }
          second.push(...b.records.map((r) => r.offset));
          await c2.commit(b, b.records[b.records.length - 1]!.offset + 1);
        },
      });
      await until(() => second.includes(10));
      await c2.stop();
      await producer.close();
      expect(first).toEqual([0, 1, 2, 3, 4]);
      expect(second).toEqual([7, 8, 9, 10]);
    });

    it('splits partitions between two members of a group and hands them over when one leaves', async () => {
      const topic = `contract-group-${randomUUID()}`;
      const group = `g-${randomUUID()}`;
      await log.ensureTopics([{ name: topic, partitions: 4 }]);
      const producer = await log.producer();
      const seen = new Map<string, Set<number>>();
      const owners: TopicPartition[][] = [[], []];
      const members: LogConsumer[] = [log.consumer(group), log.consumer(group)];
      for (const [i, m] of members.entries()) {
        await m.run({
          topics: [topic],
          onAssignment: (ps) => (owners[i] = ps),
          eachBatch: async (b) => {
            for (const r of b.records) {
              const s = seen.get(r.value.toString()) ?? new Set<number>();
              s.add(i);
              seen.set(r.value.toString(), s);
            }
            await m.commit(b, b.records[b.records.length - 1]!.offset + 1);
          },
        });
      }
      await until(() => owners[0]!.length + owners[1]!.length === 4 && owners[0]!.length > 0 && owners[1]!.length > 0, 30_000);
      await producer.send(topic, Array.from({ length: 40 }, (_, i) => ({ key: `key-${i}`, value: Buffer.from(`a${i}`) })));
      await until(() => [...seen.keys()].filter((k) => k.startsWith('a')).length === 40);
      await members[1]!.stop();
      await producer.send(topic, Array.from({ length: 40 }, (_, i) => ({ key: `key-${i}`, value: Buffer.from(`b${i}`) })));
      await until(() => [...seen.keys()].filter((k) => k.startsWith('b')).length === 40, 40_000);
      await members[0]!.stop();
      await producer.close();
      expect([...seen.entries()].filter(([k]) => k.startsWith('b')).every(([, who]) => who.size === 1 && who.has(0))).toBe(true);
    });
  });
}
