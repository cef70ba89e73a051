import { describe, expect, it } from 'vitest';
import type { LogBatch } from '../../platform/log/log.ts';
import { GroupCommit } from './group-commit.ts';

/** A batch of `records` records of `bytes` bytes each on `partition`. */
function batch(partition: number, records = 1, bytes = 100, first = 0): LogBatch {
  return {
    topic: 'bins',
    partition,
    high_watermark: first + records,
    records: Array.from({ length: records }, (_, i) => ({
      topic: 'bins', partition, offset: first + i, key: null, value: Buffer.alloc(bytes), headers: {}, timestamp_ms: 0,
    })),
  };
}

const partitionsOf = (groups: LogBatch[][]): number[][] => groups.map((g) => g.map((b) => b.partition));

/** A GroupCommit whose first group's transaction runs until `release()`; every group it ingests, in order. */
function holdingFirst(options: ConstructorParameters<typeof GroupCommit>[1]): { gc: GroupCommit; groups: LogBatch[][]; release(): void } {
  const groups: LogBatch[][] = [];
  let release!: () => void;
  const gc = new GroupCommit(async (batches) => {
    groups.push(batches);
    if (groups.length === 1) await new Promise<void>((r) => (release = r));
  }, options);
  return { gc, groups, release: () => release() };
}

describe('GroupCommit', () => {
  it('ingests the batches handed over in one turn together, and those that come during a group in the next', async () => {
    const { gc, groups, release } = holdingFirst({ max_bytes: 1_000_000, concurrency: 1, parallel_min_bytes: 0 });
    const first = [gc.submit(batch(0)), gc.submit(batch(1)), gc.submit(batch(2))];
    await new Promise((r) => setImmediate(r));
    expect(partitionsOf(groups)).toEqual([[0, 1, 2]]);
    // While the first group's transaction runs, three more arrive: they wait, then go as one.
    const second = [gc.submit(batch(3)), gc.submit(batch(4)), gc.submit(batch(5))];
    release();
    await Promise.all([...first, ...second]);
    expect(partitionsOf(groups)).toEqual([[0, 1, 2], [3, 4, 5]]);
  });

  it('keeps a group within its byte limit, and sends a batch larger than the limit alone', async () => {
    const groups: LogBatch[][] = [];
    const gc = new GroupCommit(async (batches) => void groups.push(batches), { max_bytes: 1_000, concurrency: 1, parallel_min_bytes: 0 });
    await Promise.all([gc.submit(batch(0, 4, 200)), gc.submit(batch(1, 2, 200)), gc.submit(batch(2, 30, 100)), gc.submit(batch(3, 1, 200))]);
    // 800 and 200 fill the first group (400 more would pass 1,000); then 400; then the 3,000 bytes alone.
    expect(partitionsOf(groups)).toEqual([[0, 3], [1], [2]]);
  });

  it('never puts two batches of one partition in a group: the later waits for the next, in order', async () => {
    const groups: LogBatch[][] = [];
    const gc = new GroupCommit(async (batches) => void groups.push(batches), { max_bytes: 1_000_000, concurrency: 1, parallel_min_bytes: 0 });
    await Promise.all([gc.submit(batch(0, 1, 10, 0)), gc.submit(batch(0, 1, 10, 1)), gc.submit(batch(1))]);
    expect(groups.map((g) => g.map((b) => `${b.partition}@${b.records[0]!.offset}`))).toEqual([['0@0', '1@0'], ['0@1']]);
  });

  it('fails every member of a group whose transaction fails, and goes on with the next group', async () => {
    let calls = 0;
    const gc = new GroupCommit(async () => {
      if (++calls === 1) throw new Error('serialization failure');
    }, { max_bytes: 1_000_000, concurrency: 1, parallel_min_bytes: 0 });
    const outcomes = await Promise.allSettled([gc.submit(batch(0)), gc.submit(batch(1))]);
    expect(outcomes.map((o) => o.status)).toEqual(['rejected', 'rejected']);
    expect((outcomes[0] as PromiseRejectedResult).reason).toEqual(new Error('serialization failure'));
    await expect(gc.submit(batch(0))).resolves.toBeUndefined();
    expect(calls).toBe(2);
  });

  it('runs up to `concurrency` groups at once, never two of one partition', async () => {
    const running: string[][] = [];
    const overlaps: string[][] = [];
    const gc = new GroupCommit(async (batches) => {
      const mine = batches.map((b) => `${b.partition}@${b.records[0]!.offset}`);
      running.push(mine);
      overlaps.push(running.flat());
      await new Promise((r) => setTimeout(r, 5));
      running.splice(running.indexOf(mine), 1);
    }, { max_bytes: 100, concurrency: 2, parallel_min_bytes: 500 });
    // Four batches over the byte limit: each a group; two run side by side, and partition 0's second waits for its first.
    await Promise.all([gc.submit(batch(0, 1, 500, 0)), gc.submit(batch(0, 1, 500, 1)), gc.submit(batch(1, 1, 500)), gc.submit(batch(2, 1, 500))]);
    expect(overlaps).toEqual([['0@0'], ['0@0', '1@0'], ['1@0', '0@1'], ['0@1', '2@0']]);
  });

  it('keeps a small batch for the next group while one is in flight, however many may run', async () => {
    const { gc, groups, release } = holdingFirst({ max_bytes: 1_000_000, concurrency: 3, parallel_min_bytes: 1_000 });
    const first = gc.submit(batch(0));
    await new Promise((r) => setImmediate(r));
    const later = [gc.submit(batch(1)), gc.submit(batch(2))];
    await new Promise((r) => setTimeout(r, 10));
    expect(partitionsOf(groups)).toEqual([[0]]); // 200 bytes waiting: not worth a transaction of their own
    release();
    await Promise.all([first, ...later]);
    expect(partitionsOf(groups)).toEqual([[0], [1, 2]]);
  });
});
