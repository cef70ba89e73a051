/**
 * Background work's turns against a real GroupCommit: a turn waits for a live transaction in flight to settle,
 * not for a backlog's, and never longer than its limit.
 */
import { describe, expect, it } from 'vitest';
import type { LogBatch } from '../platform/log/log.ts';
import { givingWayTo } from './background.ts';
import { GroupCommit } from './consume/group-commit.ts';

function batch(partition: number, bytes: number): LogBatch {
  return {
    topic: 'bins', partition, high_watermark: 1,
    records: [{ topic: 'bins', partition, offset: 0, key: null, value: Buffer.alloc(bytes), headers: {}, timestamp_ms: 0 }],
  };
}

/** A GroupCommit whose transactions run until released, and the order in which things happened. */
function held() {
  const order: string[] = [];
  const releases: (() => void)[] = [];
  const gc = new GroupCommit(async () => {
    order.push('transaction starts');
    await new Promise<void>((r) => releases.push(r));
    order.push('transaction commits');
  }, { max_bytes: 4_000_000, concurrency: 3, parallel_min_bytes: 1_000_000 });
  const started = async () => {
    while (releases.length === 0) await new Promise((r) => setImmediate(r));
  };
  return { gc, order, started, release: () => releases.shift()!() };
}

describe('background turns', () => {
  it('wait for a live transaction in flight to commit before the next slice', async () => {
    const { gc, order, started, release } = held();
    const ingested = gc.submit(batch(0, 500));
    await started();
    const turn = givingWayTo(() => gc, 10_000)().then(() => order.push('slice'));
    await new Promise((r) => setTimeout(r, 30));
    expect(order).toEqual(['transaction starts']);
    release();
    await Promise.all([ingested, turn]);
    expect(order).toEqual(['transaction starts', 'transaction commits', 'slice']);
  });

  it('do not wait for a backlog, and wait at most their limit for live traffic', async () => {
    const backlog = held();
    const draining = backlog.gc.submit(batch(0, 2_000_000));
    await backlog.started();
    await givingWayTo(() => backlog.gc, 10_000)();
    backlog.order.push('slice');
    expect(backlog.order).toEqual(['transaction starts', 'slice']);
    backlog.release();
    await draining;

    const live = held();
    const ingested = live.gc.submit(batch(0, 500));
    await live.started();
    const t = performance.now();
    await givingWayTo(() => live.gc, 40)();
    expect(performance.now() - t).toBeGreaterThanOrEqual(35);
    expect(live.order).toEqual(['transaction starts']);
    live.release();
    await ingested;
    // Before central consumes there is nothing to give way to.
    await givingWayTo(() => null, 10_000)();
  });
});
