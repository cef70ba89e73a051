/**
 * Long work a slice at a time, letting the event loop run in between: central's finalisation pass handles every
 * window of the city for a slot at once (60,000 for 10,000 stations), and done in one go it held the event loop
 * for seconds, during which no batch was ingested and no event written (docs/benchmarks.md, load test).
 */

/**
 * Items per slice: 1–5 ms of emitting or analysing window results. Every round trip of an ingest transaction waits
 * for the slice running when its answer comes, so a slice's length is added to each of them: at 500 (10–35 ms)
 * a finalisation pass over a 10,000-station city put seconds on the bins ingested meanwhile.
 */
export const SLICE = 100;

/** Resolves after the event loop has run its pending I/O. */
export const yieldToLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** What long work awaits between two slices: at least a turn of the event loop (`yieldToLoop`). */
export type Turn = () => Promise<void>;

/** `fn` on each slice of `items` in order, `turn` awaited between slices; the results concatenated. */
export async function inSlices<T, R>(items: readonly T[], fn: (slice: T[]) => R[], turn: Turn = yieldToLoop, size = SLICE): Promise<R[]> {
  const out: R[] = [];
  for (let i = 0; i < items.length; i += size) {
    if (i > 0) await turn();
    for (const r of fn(items.slice(i, i + size))) out.push(r);
  }
  return out;
}
