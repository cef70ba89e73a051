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
}

export class PartitionPositions {
  private readonly known = new Map<string, number | null>();
  private readonly store: Store;
  private readonly group_id: string;

  constructor(store: Store, group_id: string) {
    this.store = store;
    this.group_id = group_id;
  }

  reset(): void {
    this.known.clear();
  }

  /** The records of `batch` still to process, or null after rewinding the consumer to the stored position. */
  async unprocessed(batch: LogBatch, consumer: LogConsumer): Promise<LogBatch['records'] | null> {
    const k = `${batch.topic}/${batch.partition}`;
    if (!this.known.has(k)) this.known.set(k, await this.store.loadOffset(this.group_id, batch.topic, batch.partition));
    const stored = this.known.get(k) ?? null;
    if (stored === null) return batch.records;
    if (batch.records[0]!.offset > stored) {
      consumer.seek(batch, stored);
      return null;
    }
    return batch.records.filter((r) => r.offset >= stored);
  }

  advanced(tp: TopicPartition, next_offset: number): void {
    this.known.set(`${tp.topic}/${tp.partition}`, next_offset);
  }
}
