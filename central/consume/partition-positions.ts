/**
 * Where each partition must resume, as stored in PostgreSQL with the results. The log may redeliver from an
 * older committed offset (harmless: bins dedupe) but must never skip ahead of what the store has, so a batch
 * starting past the stored position is rewound with a seek. Positions are reloaded after every reassignment,
 * since another instance may have moved them.
 */
import type { Clock } from '../../platform/clock.ts';
import type { LogBatch, LogConsumer, TopicPartition } from '../../platform/log/log.ts';
import type { CentralMetrics } from '../metrics.ts';
import type { Store } from '../store/store.ts';

/** What every batch handler works with. */
export interface ConsumeContext {
  store: Store;
  clock: Clock;
  metrics: CentralMetrics;
  positions: PartitionPositions;
  group_id: string;
  onCommitError?(err: unknown, tp: TopicPartition): void;
}

export interface PositionEvents {
  /** The log holds fewer records than the store has processed: it was recreated (or is the in-process log of a new run). */
  onLogReset(tp: TopicPartition, stored: number, high_watermark: number): void;
  /** Records between the stored position and the log's start are gone (retention): they cannot be read again. */
  onGap(tp: TopicPartition, stored: number, first_available: number): void;
}

export class PartitionPositions {
  private readonly known = new Map<string, number | null>();
  /** Where we last seeked each partition to; a second batch starting past it means the records are gone. */
  private readonly seeked = new Map<string, number>();
  private readonly store: Store;
  private readonly group_id: string;
  private readonly events: PositionEvents;

  constructor(store: Store, group_id: string, events: PositionEvents) {
    this.store = store;
    this.group_id = group_id;
    this.events = events;
  }

  reset(): void {
    this.known.clear();
    this.seeked.clear();
  }

  /**
   * The records of `batch` still to process, or null after rewinding the consumer to the stored position.
   * `reset` says the stored position belongs to an older log and must be overwritten, even though it is higher.
   */
  async unprocessed(batch: LogBatch, consumer: LogConsumer): Promise<{ records: LogBatch['records']; reset: boolean } | null> {
    const k = `${batch.topic}/${batch.partition}`;
    if (!this.known.has(k)) this.known.set(k, await this.store.loadOffset(this.group_id, batch.topic, batch.partition));
    const stored = this.known.get(k) ?? null;
    if (stored === null) return { records: batch.records, reset: false };
    if (stored > batch.high_watermark) {
      // The store has processed more than this log holds: a new log. Its records are new data; take them all.
      this.events.onLogReset(batch, stored, batch.high_watermark);
      this.known.set(k, null);
      return { records: batch.records, reset: true };
    }
    const first = batch.records[0]!.offset;
    if (first > stored) {
      if (this.seeked.get(k) === stored) {
        // We already asked for `stored` and the log answered from later on: retention removed the rest.
        this.events.onGap(batch, stored, first);
        this.seeked.delete(k);
        return { records: batch.records, reset: false };
      }
      this.seeked.set(k, stored);
      consumer.seek(batch, stored);
      return null;
    }
    this.seeked.delete(k);
    return { records: batch.records.filter((r) => r.offset >= stored), reset: false };
  }

  advanced(tp: TopicPartition, next_offset: number): void {
    this.known.set(`${tp.topic}/${tp.partition}`, next_offset);
  }
}
