/**
 * The last `capacity` numbers pushed, kept both in arrival order (to drop the oldest) and sorted (so an order
 * statistic is a lookup, not a sort). A push costs a binary search and a move of at most `capacity` numbers.
 * Used for quantiles over a sliding history: a station's free-flow speeds, a forecast's recent errors.
 */
export class RollingSample {
  private readonly fifo: number[] = [];
  private readonly sorted: number[] = [];
  readonly capacity: number;

  constructor(capacity: number) {
    if (!(Number.isInteger(capacity) && capacity >= 1)) throw new RangeError(`capacity must be a whole number ≥ 1, got ${capacity}`);
    this.capacity = capacity;
  }

  get size(): number {
    return this.sorted.length;
  }

  /** Pushes `x`; −0 is kept as 0, since the two are equal and removal finds values by equality. */
  push(value: number): void {
    const x = value + 0;
    this.fifo.push(x);
    this.sorted.splice(lowerBound(this.sorted, x), 0, x);
    if (this.fifo.length > this.capacity) this.sorted.splice(lowerBound(this.sorted, this.fifo.shift()!), 1);
  }

  /** The i-th smallest (0-based). */
  nth(i: number): number {
    const v = this.sorted[i];
    if (v === undefined) throw new RangeError(`no element ${i} among ${this.sorted.length}`);
    return v;
  }

  /** The q-quantile, interpolated linearly between order statistics (q in [0, 1]); NaN when empty. */
  quantile(q: number): number {
    if (this.sorted.length === 0) return Number.NaN;
    const pos = q * (this.sorted.length - 1);
    const lo = Math.floor(pos);
    if (lo === pos) return this.sorted[lo]!; // an order statistic itself
    return this.sorted[lo]! + (this.sorted[lo + 1]! - this.sorted[lo]!) * (pos - lo);
  }
}

/** The first index of `sorted` whose value is not below `x`. */
function lowerBound(sorted: readonly number[], x: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
