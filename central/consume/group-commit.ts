/**
 * Group commit for log batches: batches that arrive together (one fetch's partitions, handed over side by side)
 * or while the previous group's transaction runs are ingested together, in one transaction.
 *
 * A transaction costs central and PostgreSQL a fixed amount (half a dozen round trips or more, a WAL flush, an offset commit
 * to the log, a produce request) whatever it holds. Under light load each partition's batch holds a record or
 * two, so that fixed cost was most of a bin's; grouped, it is paid once per fetch instead of once per partition.
 * A large batch (a backlog's) is left alone: a group never grows past `max_bytes` unless one batch is that size.
 *
 * Every member's promise settles with its group's transaction: a failure fails them all, and each is retried
 * by its own partition. A group holds at most one batch per partition, and a partition's next batch comes only
 * once its last has settled, so groups in flight together never share a partition and each stays in order.
 */
import type { LogBatch } from '../../platform/log/log.ts';

interface Waiting {
  batch: LogBatch;
  bytes: number;
  resolve(): void;
  reject(err: unknown): void;
}

export class GroupCommit {
  private readonly queue: Waiting[] = [];
  private scheduled = false;
  private inFlight = 0;
  /** Groups in flight of less than `parallel_min_bytes`: live traffic, where each bin's wait is what counts. */
  private liveInFlight = 0;
  /** Called as the next group settles (`settling`). */
  private settledWaiters: (() => void)[] = [];
  /** Partitions with a batch in a group in flight. */
  private readonly busy = new Set<string>();
  private readonly ingest: (batches: LogBatch[]) => Promise<void>;
  private readonly max_bytes: number;
  private readonly concurrency: number;
  private readonly parallel_min_bytes: number;

  /**
   * Up to `concurrency` groups may be in flight at once, each its own transaction on its own connection, once
   * `parallel_min_bytes` are waiting: a backlog's batches then run side by side, as the partitions did before
   * groups (one at a time, PostgreSQL and central took turns and a backlog drained at two thirds of the rate).
   * Less than that waits for the group in flight, and goes with the next: under light load that is the point.
   */
  constructor(ingest: (batches: LogBatch[]) => Promise<void>, options: { max_bytes: number; concurrency: number; parallel_min_bytes: number }) {
    this.ingest = ingest;
    this.max_bytes = options.max_bytes;
    this.concurrency = options.concurrency;
    this.parallel_min_bytes = options.parallel_min_bytes;
  }

  /** Settles once `batch` has been ingested with its group (or its group failed). */
  submit(batch: LogBatch): Promise<void> {
    return new Promise((resolve, reject) => {
      this.queue.push({ batch, bytes: bytesOf(batch), resolve, reject });
      if (this.scheduled) return;
      this.scheduled = true;
      // One turn of the event loop first, so the other partitions of the same fetch, handed over in this turn,
      // join the group.
      setImmediate(() => {
        this.scheduled = false;
        this.start();
      });
    });
  }

  /** Whether a group of live traffic (not a backlog's) is in flight now. */
  live(): boolean {
    return this.liveInFlight > 0;
  }

  /** Resolves as the next group in flight settles (committed or failed). */
  settling(): Promise<void> {
    return new Promise((resolve) => this.settledWaiters.push(resolve));
  }

  /** Starts groups from the waiting batches while fewer than `concurrency` are in flight. */
  private start(): void {
    while (this.queue.length > 0 && this.inFlight < this.concurrency) {
      if (this.inFlight > 0 && this.queue.reduce((n, w) => n + w.bytes, 0) < this.parallel_min_bytes) return;
      const group = this.nextGroup();
      if (group.length === 0) return; // the rest wait for their partitions' groups in flight
      const keys = group.map((w) => keyOf(w.batch));
      const live = group.reduce((n, w) => n + w.bytes, 0) < this.parallel_min_bytes;
      for (const k of keys) this.busy.add(k);
      this.inFlight++;
      if (live) this.liveInFlight++;
      this.ingest(group.map((w) => w.batch))
        .then(
          () => group.forEach((w) => w.resolve()),
          (err: unknown) => group.forEach((w) => w.reject(err)),
        )
        .finally(() => {
          for (const k of keys) this.busy.delete(k);
          this.inFlight--;
          if (live) this.liveInFlight--;
          this.start();
          const waiters = this.settledWaiters;
          this.settledWaiters = [];
          for (const w of waiters) w();
        });
    }
  }

  /**
   * The longest run of waiting batches within `max_bytes` (at least one), one per partition and none of a
   * partition already in flight, in arrival order. Empty when every waiting batch's partition is in flight.
   */
  private nextGroup(): Waiting[] {
    const group: Waiting[] = [];
    const partitions = new Set<string>();
    let bytes = 0;
    for (let i = 0; i < this.queue.length; ) {
      const w = this.queue[i]!;
      const k = keyOf(w.batch);
      if (this.busy.has(k) || partitions.has(k) || (group.length > 0 && bytes + w.bytes > this.max_bytes)) {
        i++;
        continue;
      }
      group.push(w);
      partitions.add(k);
      bytes += w.bytes;
      this.queue.splice(i, 1);
    }
    return group;
  }
}

const keyOf = (batch: LogBatch): string => `${batch.topic}/${batch.partition}`;

function bytesOf(batch: LogBatch): number {
  let n = 0;
  for (const r of batch.records) n += r.value.length;
  return n;
}
