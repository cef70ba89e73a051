import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { admitSeqs, type SeqRun } from './seq-runs.ts';

const b = (seq: number, bin_start_ms = seq * 60_000) => ({ seq, bin_start_ms });
const run = (first_seq: number, last_seq: number, last_bin_start_ms = last_seq * 60_000): SeqRun => ({ first_seq, last_seq, last_bin_start_ms });

/** Stored runs after applying a change. */
function apply(stored: SeqRun[], change: { gone: SeqRun[]; added: SeqRun[] }): SeqRun[] {
  return [...stored.filter((r) => !change.gone.includes(r)), ...change.added].sort((x, y) => x.first_seq - y.first_seq);
}

describe('admitSeqs', () => {
  it('starts a run, then widens it with the next seqs', () => {
    const first = admitSeqs([], [b(1), b(2), b(3)]);
    expect(first.fresh.map((x) => x.seq)).toEqual([1, 2, 3]);
    expect(first).toMatchObject({ gone: [], added: [run(1, 3)] });
    const next = admitSeqs([run(1, 3)], [b(4), b(5)]);
    expect(next).toMatchObject({ gone: [run(1, 3)], added: [run(1, 5)] });
  });

  it('drops seqs a run holds and seqs repeated within the batch', () => {
    const c = admitSeqs([run(1, 10)], [b(3), b(11), b(11), b(10), b(12)]);
    expect(c.fresh.map((x) => x.seq)).toEqual([11, 12]);
    expect(c.added).toEqual([run(1, 12)]);
  });

  it('keeps a gap (a crash skipped a block) until its seqs arrive, and joins the runs when they do', () => {
    const gap = admitSeqs([run(1, 5)], [b(10_008), b(10_009)]);
    expect(gap).toMatchObject({ gone: [], added: [run(10_008, 10_009)] });
    const filled = admitSeqs([run(1, 5), run(10_008, 10_009)], [b(6), b(7)]);
    expect(filled).toMatchObject({ gone: [run(1, 5)], added: [run(1, 7)] });
    const joined = admitSeqs([run(1, 7)], [b(8)]);
    expect(joined.added).toEqual([run(1, 8)]);
  });

  it('remembers the latest bin start of a run, whichever seq carried it', () => {
    const c = admitSeqs([run(1, 2, 5_000)], [b(3, 1_000), b(4, 9_000)]);
    expect(c.added).toEqual([run(1, 4, 9_000)]);
  });

  it('leaves stored runs nothing touched alone', () => {
    const c = admitSeqs([run(1, 5), run(20, 30)], [b(10)]);
    expect(c).toMatchObject({ gone: [], added: [run(10, 10)] });
  });

  it('reads overlapping stored runs as their union, and merges them when it touches them', () => {
    // Two transactions of one device's stations each replaced run [1, 4] with a wider one.
    const stored = [run(1, 8), run(1, 4), run(3, 12)];
    const c = admitSeqs(stored, [b(2), b(10), b(13)]);
    expect(c.fresh.map((x) => x.seq)).toEqual([13]);
    expect(apply(stored, c)).toEqual([run(1, 13)]);
    // A run nested inside another does not hide the outer one's seqs.
    expect(admitSeqs([run(1, 20), run(5, 8)], [b(15)]).fresh).toEqual([]);
  });

  it('keeps the union of the runs the seqs counted when two writers replace runs from one reading', () => {
    // Two writers with disjoint seqs (one device's bins of two stations) read the same runs and each writes its
    // change: deleting exactly the runs it replaced, inserting its own. Whatever they both replaced, the union
    // of what is stored afterwards is every seq either counted.
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 60 }), { maxLength: 20 }), fc.array(fc.integer({ min: 1, max: 60 }), { maxLength: 30 }), (before, seqs) => {
        let stored = admitSeqs([], before.map((s) => b(s))).added;
        const [mine, theirs] = [seqs.filter((s) => s % 2 === 0), seqs.filter((s) => s % 2 === 1)];
        const a = admitSeqs(stored, mine.map((s) => b(s)));
        const c = admitSeqs(stored, theirs.map((s) => b(s)));
        const same = (x: SeqRun, y: SeqRun) => x.first_seq === y.first_seq && x.last_seq === y.last_seq;
        stored = [...stored.filter((r) => !a.gone.some((g) => same(g, r)) && !c.gone.some((g) => same(g, r))), ...a.added, ...c.added];
        const covered = new Set(stored.flatMap((r) => Array.from({ length: r.last_seq - r.first_seq + 1 }, (_, i) => r.first_seq + i)));
        expect([...covered].sort((x, y) => x - y)).toEqual([...new Set([...before, ...seqs])].sort((x, y) => x - y));
        // And a later batch of the same seqs finds them all counted.
        expect(admitSeqs(stored, [...before, ...seqs].map((s) => b(s))).fresh).toEqual([]);
      }),
    );
  });

  it('counts every seq once and keeps runs disjoint, over any batches in any order', () => {
    fc.assert(
      fc.property(fc.array(fc.array(fc.integer({ min: 1, max: 60 }), { maxLength: 25 }), { maxLength: 12 }), (batches) => {
        let stored: SeqRun[] = [];
        const seen = new Set<number>();
        for (const seqs of batches) {
          const change = admitSeqs(stored, seqs.map((s) => b(s)));
          expect(change.fresh.map((x) => x.seq)).toEqual([...new Set(seqs)].filter((s) => !seen.has(s)));
          for (const s of seqs) seen.add(s);
          stored = apply(stored, change);
          // Runs cover exactly the seqs seen, apart and not touching (touching runs would have been joined).
          const covered = stored.flatMap((r) => Array.from({ length: r.last_seq - r.first_seq + 1 }, (_, i) => r.first_seq + i));
          expect(covered).toEqual([...seen].sort((x, y) => x - y));
          for (let i = 1; i < stored.length; i++) expect(stored[i]!.first_seq).toBeGreaterThan(stored[i - 1]!.last_seq + 1);
        }
      }),
    );
  });
});
