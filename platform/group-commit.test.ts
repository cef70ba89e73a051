import { describe, expect, it } from 'vitest';
import { GroupCommit } from './group-commit.ts';

/** A flush that records its groups and finishes only when the test says so. */
function gated() {
  const groups: number[][] = [];
  const gates: (() => void)[] = [];
  const flush = (items: number[]) =>
    new Promise<void>((resolve) => {
      groups.push(items);
      gates.push(resolve);
    });
  const release = async () => {
    await new Promise((r) => setImmediate(r));
    gates.shift()!();
    // The flush's callers settle, then one turn of the event loop passes before the next group is taken.
    for (let turn = 0; turn < 2; turn++) await new Promise((r) => setImmediate(r));
  };
  return { groups, flush, release };
}

describe('GroupCommit', () => {
  it('flushes the first item alone, then everything that queued behind it as one group', async () => {
    const g = gated();
    const commit = new GroupCommit<number>({ flush: g.flush });
    const settled: number[] = [];
    const all = [1, 2, 3, 4].map((n) => commit.submit(n).then(() => settled.push(n)));
    await new Promise((r) => setImmediate(r));
    expect(g.groups).toEqual([[1]]);
    expect(commit.pending).toBe(3);
    await g.release();
    expect(settled).toEqual([1]);
    expect(g.groups).toEqual([[1], [2, 3, 4]]);
    await g.release();
    await Promise.all(all);
    expect(settled).toEqual([1, 2, 3, 4]);
  });

  it('under load, lingers before the next group so that it carries what arrives meanwhile; idle, flushes at once', async () => {
    const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
    const groups: number[][] = [];
    const commit = new GroupCommit<number>({ flush: async (items) => { groups.push(items); await sleep(5); }, linger_ms: 60 });
    const one = commit.submit(1); // nothing in flight: at once, alone
    const two = commit.submit(2); // queued behind it: the next flush lingers
    await one;
    await sleep(15); // without the linger, 2 would have gone alone by now
    const three = commit.submit(3);
    await Promise.all([two, three]);
    expect(groups).toEqual([[1], [2, 3]]);
    await sleep(10);
    const started = Date.now();
    await commit.submit(4); // idle again: no linger
    expect(Date.now() - started).toBeLessThan(60);
    expect(groups).toEqual([[1], [2, 3], [4]]);
  });

  it('fails exactly the callers whose group failed, and carries on with the next group', async () => {
    const groups: number[][] = [];
    const commit = new GroupCommit<number>({
      flush: async (items) => {
        groups.push(items);
        await new Promise((r) => setTimeout(r, 5));
        if (items.includes(3)) throw new Error('broker said no');
      },
    });
    const results = await Promise.allSettled([1, 2, 3, 4].map((n) => commit.submit(n)));
    expect(groups).toEqual([[1], [2, 3, 4]]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'rejected', 'rejected']);
    await expect(commit.submit(5)).resolves.toBeUndefined();
    expect(groups.at(-1)).toEqual([5]);
  });

  it('stops a group at max_weight, but never leaves a heavy item stranded', async () => {
    const groups: number[][] = [];
    const commit = new GroupCommit<number>({
      flush: async (items) => {
        groups.push(items);
        await new Promise((r) => setTimeout(r, 1));
      },
      weigh: (n) => n,
      max_weight: 10,
    });
    await Promise.all([1, 4, 5, 2, 30, 3].map((n) => commit.submit(n)));
    expect(groups).toEqual([[1], [4, 5], [2], [30], [3]]);
  });

  it('keeps a closed loop of callers together: those a flush releases join the next group, not one by one', async () => {
    const sizes: number[] = [];
    const commit = new GroupCommit<number>({
      flush: async (items) => {
        sizes.push(items.length);
        await new Promise((r) => setTimeout(r, 1));
      },
    });
    // Eight callers that each resubmit a few promise hops after their last item was committed.
    await Promise.all(
      Array.from({ length: 8 }, async (_, caller) => {
        for (let round = 0; round < 10; round++) {
          await commit.submit(caller);
          for (let hop = 0; hop < 3; hop++) await Promise.resolve();
        }
      }),
    );
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(80);
    // The first caller flushes alone; the first caller's next item joins the seven that queued meanwhile, and
    // from then on all eight stay together (the last group lacks whoever finished first).
    expect(sizes[0]).toBe(1);
    expect(sizes.slice(1, -1)).toEqual(Array.from({ length: sizes.length - 2 }, () => 8));
    expect(sizes.length).toBeLessThanOrEqual(12);
  });
});
