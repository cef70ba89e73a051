import { describe, expect, it } from 'vitest';
import type { LogBatch, LogConsumer, TopicPartition } from '../../platform/log/log.ts';
import type { Store } from '../store/store.ts';
import { PartitionPositions } from './partition-positions.ts';

const tp = { topic: 'wacoflow.bins.v1', partition: 0 };
const batch = (from: number, n: number, high_watermark = from + n): LogBatch => ({
  ...tp,
  high_watermark,
  records: Array.from({ length: n }, (_, i) => ({ ...tp, offset: from + i, key: 'k', value: Buffer.alloc(0), headers: {}, timestamp_ms: 0 })),
});

function setup(stored: number | null) {
  const seeks: number[] = [];
  const events: string[] = [];
  const store = { loadOffset: async () => stored } as unknown as Store;
  const consumer = { seek: (_tp: TopicPartition, o: number) => seeks.push(o) } as unknown as LogConsumer;
  const positions = new PartitionPositions(store, 'g', {
    onLogReset: (_tp, s, h) => events.push(`reset ${s}>${h}`),
    onGap: (_tp, s, f) => events.push(`gap ${s}..${f}`),
  });
  return { positions, consumer, seeks, events };
}

describe('PartitionPositions', () => {
  it('takes everything when the store has no position yet', async () => {
    const { positions, consumer } = setup(null);
    expect((await positions.unprocessed(batch(0, 3), consumer))?.records.map((r) => r.offset)).toEqual([0, 1, 2]);
  });

  it('trims records the store already has', async () => {
    const { positions, consumer } = setup(5);
    const r = await positions.unprocessed(batch(3, 4), consumer);
    expect(r).toEqual({ records: batch(3, 4).records.slice(2), reset: false });
  });

  it('rewinds a batch that starts past the stored position, and accepts a gap only when the rewind cannot help', async () => {
    const { positions, consumer, seeks, events } = setup(5);
    expect(await positions.unprocessed(batch(8, 2, 20), consumer)).toBeNull();
    expect(seeks).toEqual([5]);
    // The log answered the seek from 8 again: offsets 5–7 were removed by retention.
    expect((await positions.unprocessed(batch(8, 2, 20), consumer))?.records.map((r) => r.offset)).toEqual([8, 9]);
    expect(events).toEqual(['gap 5..8']);
  });

  it('treats a log with fewer records than already processed as a new log', async () => {
    const { positions, consumer, events } = setup(500);
    const r = await positions.unprocessed(batch(0, 3), consumer);
    expect(r?.reset).toBe(true);
    expect(r?.records).toHaveLength(3);
    expect(events).toEqual(['reset 500>3']);
    positions.advanced(tp, 3);
    expect((await positions.unprocessed(batch(3, 1), consumer))?.reset).toBe(false);
  });
});
