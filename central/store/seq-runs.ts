/**
 * The dedupe record as runs of consecutive sequence numbers. An agent numbers its bins 1, 2, 3, … across reboots
 * (skipping a block after a crash), so the seqs central has counted for one device are a few runs `[first,
 * last]`, not a row per bin. A batch's bins are checked against the runs stored around them and the runs are
 * widened to take in the new ones: one small row per device and run instead of one per bin.
 *
 * Stored runs may overlap: one device's stations sit on different partitions, whose transactions rewrite its
 * runs side by side (store.ts, claimBins), and two of them may each replace a run they both read. Every run
 * holds only counted seqs, so their union is still the record; runs that overlap are read as their union
 * and merged into one by the next change that touches them.
 */

export interface SeqRun {
  first_seq: number;
  last_seq: number;
  /** The latest bin start in the run: a run is forgotten when even that is older than the dedupe horizon. */
  last_bin_start_ms: number;
}

export interface RunChange<B> {
  /** The bins whose seq no run held, in batch order; a seq repeated within the batch counts once. */
  fresh: B[];
  /** Stored runs replaced by a wider one. */
  gone: SeqRun[];
  /** Runs to store: new ones and the widened replacements. */
  added: SeqRun[];
}

/**
 * One device's bins against the stored runs that overlap or touch the span of their seqs. Stored runs that no
 * new seq changes stay as they are (neither gone nor added).
 */
export function admitSeqs<B extends { seq: number; bin_start_ms: number }>(stored: readonly SeqRun[], bins: readonly B[]): RunChange<B> {
  // The stored runs' union, as disjoint intervals in order: what the check searches.
  const byFirst = [...stored].sort((a, b) => a.first_seq - b.first_seq);
  const runs: SeqRun[] = [];
  for (const r of byFirst) {
    const last = runs.at(-1);
    if (last && r.first_seq <= last.last_seq + 1) runs[runs.length - 1] = { ...last, last_seq: Math.max(last.last_seq, r.last_seq) };
    else runs.push(r);
  }
  const counted = (seq: number): boolean => {
    // Binary search: the last run starting at or before seq.
    let lo = 0;
    let hi = runs.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (runs[mid]!.first_seq <= seq) lo = mid + 1;
      else hi = mid - 1;
    }
    return hi >= 0 && seq <= runs[hi]!.last_seq;
  };
  const fresh: B[] = [];
  const newest = new Map<number, number>(); // fresh seq → its bin start
  for (const b of bins) {
    if (newest.has(b.seq) || counted(b.seq)) continue;
    newest.set(b.seq, b.bin_start_ms);
    fresh.push(b);
  }
  if (fresh.length === 0) return { fresh, gone: [], added: [] };

  // One sweep over the stored runs and the fresh seqs, both in order, merging what overlaps or touches. (Fresh
  // seqs lie outside every stored run, so a seq and a run never start at the same place.)
  const seqs = Float64Array.from(newest.keys()).sort();
  const gone: SeqRun[] = [];
  const added: SeqRun[] = [];
  let i = 0; // the next fresh seq
  let j = 0; // the next stored run
  const storedNext = (): boolean => j < byFirst.length && (i === seqs.length || byFirst[j]!.first_seq < seqs[i]!);
  const nextFirst = (): number => (storedNext() ? byFirst[j]!.first_seq : i < seqs.length ? seqs[i]! : Number.POSITIVE_INFINITY);
  while (i < seqs.length || j < byFirst.length) {
    // One merged run: the next piece, then every piece that starts inside it or right after it.
    const members: SeqRun[] = [];
    let withNew = false;
    let run: SeqRun | null = null;
    do {
      let piece: SeqRun;
      if (storedNext()) members.push((piece = byFirst[j++]!));
      else {
        const seq = seqs[i++]!;
        piece = { first_seq: seq, last_seq: seq, last_bin_start_ms: newest.get(seq)! };
        withNew = true;
      }
      run = run === null
        ? { ...piece }
        : { first_seq: run.first_seq, last_seq: Math.max(run.last_seq, piece.last_seq), last_bin_start_ms: Math.max(run.last_bin_start_ms, piece.last_bin_start_ms) };
    } while (nextFirst() <= run.last_seq + 1);
    if (!withNew && members.length === 1) continue; // a stored run nothing touched
    gone.push(...members);
    added.push(run);
  }
  return { fresh, gone, added };
}
