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
    await new Promise((r) => setImmediate(r));
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
});
