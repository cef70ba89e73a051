/**
 * The partitioned, replayable log between the gateway and central: Kafka in distributed mode, `MemoryLog` in
 * embedded mode. Both give the same guarantees the pipeline relies on: per-partition order, offsets, consumer
 * groups that split partitions between members, and `send` resolving only once the records are stored.
 */

export interface TopicSpec {
  name: string;
  partitions: number;
  /** Keep the latest record per key for good (Kafka log compaction) instead of expiring records by age. */
  compact?: boolean;
}

/** Record headers carry the message type, so one topic can hold several message kinds (health and status). */
export type Headers = Record<string, string>;

export interface OutgoingRecord {
  key: string;
  value: Buffer;
  headers?: Headers;
}

export interface LogRecord {
  topic: string;
  partition: number;
  offset: number;
  key: string | null;
  value: Buffer;
  headers: Headers;
  timestamp_ms: number;
}

export interface TopicPartition {
  topic: string;
  partition: number;
}

export interface LogBatch extends TopicPartition {
  records: LogRecord[];
  /** Offset the next produced record on this partition will get. */
  high_watermark: number;
}

export interface LogProducer {
  /** Resolves once every record is durable in the log (Kafka: acks=all, idempotent). */
  send(topic: string, records: OutgoingRecord[]): Promise<void>;
  close(): Promise<void>;
}

export interface ConsumerHandlers {
  topics: string[];
  /** Called with one partition's records in offset order; the next batch of that partition waits for it. */
  eachBatch(batch: LogBatch): Promise<void>;
  /** Called after every (re)assignment with the partitions this member now owns. */
  onAssignment?(partitions: TopicPartition[]): void;
}

export interface LogConsumer {
  /** Joins the group and starts delivering batches; resolves once joined. */
  run(handlers: ConsumerHandlers): Promise<void>;
  /** The next batch of this partition starts at `offset`. Call from `eachBatch` to rewind or skip. */
  seek(tp: TopicPartition, offset: number): void;
  /** Records `next_offset` (last processed + 1) as the group's committed position. */
  commit(tp: TopicPartition, next_offset: number): Promise<void>;
  /** Leaves the group after the batch in hand finishes. */
  stop(): Promise<void>;
  /** Whether the consume loop runs and when it last turned: what liveness and readiness probes ask. */
  progress(): ConsumerProgress;
}

export interface ConsumerProgress {
  /** starting: run() has not joined the group yet; failed: the client gave up for good (a restart may help). */
  state: 'starting' | 'running' | 'failed' | 'stopped';
  /** Batches being handled now (a batch waiting on the database is work, not a stall). */
  in_batch: number;
  /** When the loop last showed life: a fetch answered (an empty one too), a batch began or ended, or it waits for records. */
  last_turn_ms: number;
}

export interface Log {
  readonly kind: 'memory' | 'kafka';
  /** Creates missing topics with the given partition counts; leaves existing ones alone. */
  ensureTopics(topics: TopicSpec[]): Promise<void>;
  producer(): Promise<LogProducer>;
  consumer(group_id: string): LogConsumer;
  close(): Promise<void>;
  /** Resolves when a broker answers, throws otherwise (a log in this process has none to ask). */
  reachable?(): Promise<void>;
}

/** 32-bit FNV-1a: a stable key → partition mapping for the in-process log. */
export function partitionFor(key: string, partitions: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) % partitions;
}
