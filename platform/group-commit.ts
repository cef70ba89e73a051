/**
 * Group commit: callers submit work and wait; one flush at a time runs, taking everything that queued up while
 * the previous one was in flight. Under light load each item flushes alone (no added latency); under heavy load
 * the flushes grow and the cost per item falls. Every caller's promise settles with the flush that carried its
 * item, so "resolved" always means "committed".
 */
export interface GroupCommitOptions<T> {
  /** Commits a group; throwing fails every caller in it. */
  flush: (items: T[]) => Promise<void>;
  /** Weight of one item (records, bytes…); a group stops growing once it reaches max_weight. Default 1. */
  weigh?: (item: T) => number;
  /** Default: unbounded. A single item heavier than this still flushes, alone. */
  max_weight?: number;
  /**
   * Under load only: when items queued while a flush was in flight, wait this long (ms) before taking the next
   * group, so it carries more of them. An item that finds nothing in flight still flushes at once. Default 0.
   */
  linger_ms?: number;
}

interface Waiter<T> {
  item: T;
  resolve: () => void;
  reject: (err: unknown) => void;
}

export class GroupCommit<T> {
  private queue: Waiter<T>[] = [];
  private running = false;

  private readonly options: GroupCommitOptions<T>;

  constructor(options: GroupCommitOptions<T>) {
    this.options = options;
  }

  submit(item: T): Promise<void> {
    return new Promise((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      if (!this.running) void this.drain();
    });
  }

  /** Items waiting for a flush (not counting the one in flight). */
  get pending(): number {
    return this.queue.length;
  }

  private async drain(): Promise<void> {
    this.running = true;
    while (this.queue.length > 0) {
      const group = this.take();
      try {
        await this.options.flush(group.map((w) => w.item));
        for (const w of group) w.resolve();
      } catch (err) {
        for (const w of group) w.reject(err);
      }
      // Callers released by this flush usually submit again a few promise hops later: give them one turn of the
      // event loop to join the next group. Without it a steady load settles into alternating groups (whoever
      // was released first flushes nearly alone while the rest queue behind it) and every other flush is wasted.
      const { linger_ms = 0 } = this.options;
      if (linger_ms > 0 && this.queue.length > 0) await new Promise<void>((resolve) => setTimeout(resolve, linger_ms));
      else await new Promise<void>((resolve) => setImmediate(resolve));
    }
    this.running = false;
  }

  private take(): Waiter<T>[] {
    const { weigh = () => 1, max_weight = Infinity } = this.options;
    return this.queue.splice(0, groupEnd(this.queue, (w) => weigh(w.item), max_weight));
  }
}

/**
 * Where a group starting at `from` ends: it takes items while their weights add up to at most `max_weight`,
 * and always at least one, so an item heavier than that goes alone.
 */
export function groupEnd<T>(items: readonly T[], weigh: (item: T) => number, max_weight: number, from = 0): number {
  let weight = 0;
  let end = from;
  while (end < items.length) {
    const w = weigh(items[end]!);
    if (end > from && weight + w > max_weight) break;
    weight += w;
    end++;
  }
  return end;
}
