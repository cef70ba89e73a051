/**
 * Group commit for log batches: batches that arrive together (one fetch's partitions, handed over side by side)
 * or while the previous group's transaction runs are ingested together, in one transaction.
 *
 * A transaction costs central and PostgreSQL a fixed amount (a dozen round trips, a WAL flush, an offset commit
 * to the log, a produce request) whatever it holds. Under light load each partition's batch holds a record or
 * two, so that fixed cost was most of a bin's; grouped, it is paid once per fetch instead of once per partition.
 * A large batch (a backlog's) is left alone: a group never grows past `max_bytes` unless one batch is that size.
 *
 * Every member's promise settles with its group's transaction: a failure fails them all, and each is retried
 * by its own partition. A group holds at most one batch per partition, so a partition's batches stay in order.
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
  private draining = false;
  private readonly ingest: (batches: LogBatch[]) => Promise<void>;
  private readonly max_bytes: number;

  constructor(ingest: (batches: LogBatch[]) => Promise<void>, options: { max_bytes: number }) {
    this.ingest = ingest;
    this.max_bytes = options.max_bytes;
  }

  /** Settles once `batch` has been ingested with its group (or its group failed). */
  submit(batch: LogBatch): Promise<void> {
    return new Promise((resolve, reject) => {
      this.queue.push({ batch, bytes: bytesOf(batch), resolve, reject });
      if (this.draining) return;
      this.draining = true;
      // One turn of the event loop first, so the other partitions of the same fetch, handed over in this turn,
      // join the group.
      setImmediate(() => void this.drain());
    });
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      const group = this.nextGroup();
      try {
        await this.ingest(group.map((w) => w.batch));
        for (const w of group) w.resolve();
      } catch (err) {
        for (const w of group) w.reject(err);
      }
    }
    this.draining = false;
  }

  /** The longest run of waiting batches within `max_bytes` (at least one), one per partition, in arrival order. */
  private nextGroup(): Waiting[] {
    const group: Waiting[] = [];
    const partitions = new Set<string>();
    let bytes = 0;
    for (let i = 0; i < this.queue.length; ) {
      const w = this.queue[i]!;
      const k = `${w.batch.topic}/${w.batch.partition}`;
      if (group.length > 0 && (bytes + w.bytes > this.max_bytes || partitions.has(k))) {
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

function bytesOf(batch: LogBatch): number {
  let n = 0;
  for (const r of batch.records) n += r.value.length;
  return n;
}
