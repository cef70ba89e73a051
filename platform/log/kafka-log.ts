/**
 * The Kafka adapter: the only file that imports kafkajs. Producers are idempotent with acks=all, so `send`
 * resolves only once every in-sync replica has the records. Consumers never auto-commit and never auto-resolve
 * offsets (kafkajs's defaults would mark a batch done before the handler's transaction commits); the handler
 * commits `last offset + 1` itself, after its own store has the results.
 */
import { Kafka, logLevel, Partitioners, type Consumer, type ICustomPartitioner, type LogEntry, type Message, type Producer } from 'kafkajs';
import { ERR, WacoflowError } from '../errors.ts';
import { GroupCommit, groupEnd } from '../group-commit.ts';
import type { ConsumerHandlers, ConsumerProgress, Log, LogConsumer, LogProducer, OutgoingRecord, TopicPartition, TopicSpec } from './log.ts';

export interface KafkaLogOptions {
  brokers: string[];
  client_id: string;
  /** Receives kafkajs's own warnings and errors. */
  onLog?: (level: 'error' | 'warn' | 'info', message: string, extra: Record<string, unknown>) => void;
  connection_timeout_ms?: number;
  /** Partitions a consumer hands over at once (default 16: all of a fetch's, usually; each partition stays in order). */
  partitions_concurrently?: number;
}

/**
 * Grouped sends stop growing here, well under the broker's default 1 MiB limit per partition batch
 * (message.max.bytes), whatever the spread of keys over partitions.
 */
const MAX_REQUEST_BYTES = 768 * 1024;

/**
 * Under load, a produce request waits this long for more sends to ride with it (Kafka's own clients call it
 * linger.ms; 5 ms by default in Java's). In a CPU profile of the gateway in the load test, writing requests to
 * the broker's socket was a sixth of its busy time, and a request rarely held more than an agent message or two.
 * A send that finds none in flight goes at once.
 */
const LINGER_MS = 2;

/**
 * Broker answers that mean "not yet" (a coordinator loading its offsets or, on a new cluster, not there until
 * the offsets topic exists; a partition between leaders), which kafkajs retries on its own: logged as
 * information, not as errors.
 */
const TRANSIENT = /coordinator is loading|coordinator is not available|not the correct coordinator|no leader for this topic-partition|not the leader for that topic-partition|leader is not available/i;

/** The level WacoFlow logs a kafkajs entry at: what kafkajs retries by itself is information. */
export function kafkaEntryLevel(level: logLevel, error: unknown): 'error' | 'warn' | 'info' {
  if (typeof error === 'string' && TRANSIENT.test(error)) return 'info';
  return level === logLevel.ERROR ? 'error' : 'warn';
}

/** Key and value, plus a generous allowance for the record's framing and headers. */
const recordBytes = (r: OutgoingRecord): number => Buffer.byteLength(r.key) + r.value.length + 64;

/** Consecutive runs of records cut as grouped sends are, each at most MAX_REQUEST_BYTES (a heavier record alone). */
function requestSized(records: OutgoingRecord[]): OutgoingRecord[][] {
  const parts: OutgoingRecord[][] = [];
  for (let start = 0; start < records.length; ) {
    const end = groupEnd(records, recordBytes, MAX_REQUEST_BYTES, start);
    parts.push(records.slice(start, end));
    start = end;
  }
  return parts;
}

export class KafkaLog implements Log {
  readonly kind = 'kafka' as const;
  private readonly kafka: Kafka;
  private readonly opened = new Set<{ disconnect(): Promise<void> }>();
  private readonly partitionsConcurrently: number;
  private readonly options: KafkaLogOptions;

  constructor(options: KafkaLogOptions) {
    this.options = options;
    const onLog = options.onLog;
    this.partitionsConcurrently = options.partitions_concurrently ?? 16;
    this.kafka = new Kafka({
      clientId: options.client_id,
      brokers: options.brokers,
      connectionTimeout: options.connection_timeout_ms ?? 3_000,
      logLevel: logLevel.WARN,
      logCreator:
        () =>
        ({ level, log }: LogEntry) => {
          const { message, ...extra } = log;
          onLog?.(kafkaEntryLevel(level, extra.error), String(message), extra);
        },
    });
  }

  /**
   * Whether a broker answers (a metadata request), with one try and no client logging: start-up polls this
   * while it waits for Kafka, and kafkajs's own retries would only print a connection error per attempt.
   */
  async reachable(): Promise<void> {
    const admin = this.quietAdmin({ retries: 0 });
    try {
      await admin.connect();
      await admin.listTopics();
    } catch (err) {
      throw new WacoflowError(ERR.LOG_UNAVAILABLE, `Kafka at ${this.options.brokers.join(',')} is not reachable: ${(err as Error).message}`, { retriable: true, cause: err });
    } finally {
      await admin.disconnect().catch(() => {});
    }
  }

  /** An admin client that logs nothing: its callers report what matters themselves. */
  private quietAdmin(retry?: { retries: number }) {
    const o = this.options;
    return new Kafka({ clientId: o.client_id, brokers: o.brokers, connectionTimeout: o.connection_timeout_ms ?? 3_000, logLevel: logLevel.NOTHING, ...(retry ? { retry } : {}) }).admin();
  }

  async ensureTopics(specs: TopicSpec[]): Promise<void> {
    const admin = this.quietAdmin();
    try {
      await admin.connect();
      const existing = new Set(await admin.listTopics());
      const missing = specs.filter((s) => !existing.has(s.name));
      if (missing.length > 0) {
        await admin.createTopics({
          waitForLeaders: true,
          topics: missing.map((s) => ({
            topic: s.name, numPartitions: s.partitions, replicationFactor: -1,
            ...(s.compact ? { configEntries: [{ name: 'cleanup.policy', value: 'compact' }] } : {}),
          })),
        });
      }
    } catch (err) {
      // Another process (the gateway and central start together) created them first: what was wanted exists.
      const each = (err as { errors?: { type?: string; message?: string }[] }).errors ?? [];
      if (each.length > 0 && each.every((e) => e.type === 'TOPIC_ALREADY_EXISTS')) return;
      const why = each.length > 0 ? each.map((e) => e.message ?? e.type).join('; ') : (err as Error).message;
      throw new WacoflowError(ERR.LOG_UNAVAILABLE, `Kafka: could not create topics (${why})`, { retriable: true, cause: err });
    } finally {
      await admin.disconnect();
    }
  }

  private async connectProducer(): Promise<Producer> {
    // maxInFlightRequests 1 keeps the idempotent producer's sequence numbers in order across retries. The
    // partitioner is kafkajs's default, named so that it does not warn at every start that the default changed
    // in its version 2: murmur2 of the key, as Java clients partition, so other producers agree with ours.
    const producer: Producer = this.kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false, createPartitioner: rememberingPartitioner });
    this.opened.add(producer);
    try {
      await producer.connect();
    } catch (err) {
      this.opened.delete(producer);
      await producer.disconnect().catch(() => {});
      throw new WacoflowError(ERR.LOG_UNAVAILABLE, `Kafka: could not connect a producer (${(err as Error).message})`, { retriable: true, cause: err });
    }
    return producer;
  }

  async producer(): Promise<LogProducer> {
    let producer: Producer | null = await this.connectProducer();
    let closed = false;
    // With one request in flight, a request per `send` would cap throughput at one round trip per call. Calls
    // that arrive while a request is in flight ride together in the next one; each resolves when its own
    // request is acknowledged by every in-sync replica.
    const commit = new GroupCommit<{ topic: string; records: OutgoingRecord[] }>({
      flush: async (sends) => {
        const byTopic = new Map<string, Message[]>();
        for (const { topic, records } of sends) {
          const messages = byTopic.get(topic) ?? [];
          for (const r of records) messages.push({ key: r.key, value: r.value, headers: r.headers ?? {} });
          byTopic.set(topic, messages);
        }
        if (closed) throw new WacoflowError(ERR.LOG_UNAVAILABLE, 'Kafka producer closed', { retriable: false });
        producer ??= await this.connectProducer();
        try {
          await producer.sendBatch({ acks: -1, topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })) });
        } catch (err) {
          // A failed send can leave kafkajs's idempotent producer out of step with the broker: after a broker
          // outage it was seen answering every later send with "out of order sequence number", for good. So a
          // producer whose send failed is not used again; the next send gets a new one (a new producer id and
          // fresh sequence numbers). Whatever the failed send did land is a duplicate that central drops.
          const failed = producer;
          producer = null;
          this.opened.delete(failed);
          await failed.disconnect().catch(() => {});
          const topics = [...byTopic.keys()].join(', ');
          throw new WacoflowError(ERR.LOG_UNAVAILABLE, `Kafka produce to ${topics} failed: ${(err as Error).message}`, { retriable: true, cause: err });
        }
      },
      weigh: ({ records }) => records.reduce((n, r) => n + recordBytes(r), 0),
      max_weight: MAX_REQUEST_BYTES,
      linger_ms: LINGER_MS,
    });
    return {
      // A send larger than one request (a finalisation pass after a backlog publishes tens of thousands of
      // windows) goes as several, in order: as one it was refused whole, its partition batches past the broker's
      // message.max.bytes. The parts queue one behind another, so each key keeps its order.
      send: async (topic, records) => {
        await Promise.all(requestSized(records).map((part) => commit.submit({ topic, records: part })));
      },
      close: async () => {
        closed = true;
        const last = producer;
        producer = null;
        if (!last) return;
        this.opened.delete(last);
        await last.disconnect();
      },
    };
  }

  consumer(group_id: string): LogConsumer {
    const consumer: Consumer = this.kafka.consumer({
      groupId: group_id, allowAutoTopicCreation: false,
      // A failed batch (the database away, say) is retried at most 5 s apart for about four minutes, then the
      // consumer restarts. kafkajs's default backoff grows to 30 s, so after a minute-long outage the work
      // resumed anywhere up to half a minute after the database was back.
      retry: { retries: 50, maxRetryTime: 5_000 },
      // A consumer's batch is its unit of work (central: one transaction). kafkajs's 1 MiB per partition cut a
      // backlog into ~2,400-bin batches, each rewriting the windows it shares with its neighbours; 4 MiB
      // (~10,000 bins, well under a second of work) cut PostgreSQL's CPU per bin by a fifth.
      maxBytesPerPartition: 4 * 1024 * 1024,
      maxBytes: 24 * 1024 * 1024,
    });
    this.opened.add(consumer);
    // A seek inside eachBatch must win over resolving the batch, or the rewound records would be skipped.
    const seekedDuringBatch = new Set<string>();
    const progress: ConsumerProgress = { state: 'starting', in_batch: 0, last_turn_ms: Date.now() };
    const pending = new Map<string, { topic: string; partition: number; offset: string }>();
    let flushing: Promise<void> | null = null;
    const turned = (): void => void (progress.last_turn_ms = Date.now());
    // kafkajs fetches every maxWaitTime (5 s) even when nothing comes, so a quiet topic still turns the loop.
    consumer.on(consumer.events.FETCH, turned);
    consumer.on(consumer.events.GROUP_JOIN, () => {
      progress.state = 'running';
      turned();
    });
    consumer.on(consumer.events.CRASH, (e) => {
      if (!e.payload.restart) progress.state = 'failed';
    });
    consumer.on(consumer.events.STOP, () => void (progress.state = progress.state === 'failed' ? 'failed' : 'stopped'));
    return {
      progress: () => ({ ...progress }),
      run: async (handlers: ConsumerHandlers) => {
        await consumer.connect();
        for (const topic of handlers.topics) await consumer.subscribe({ topic, fromBeginning: true });
        consumer.on(consumer.events.GROUP_JOIN, (e) => {
          const assigned = e.payload.memberAssignment as Record<string, number[]>;
          handlers.onAssignment?.(Object.entries(assigned).flatMap(([topic, ps]) => ps.map((partition) => ({ topic, partition }))));
        });
        await consumer.run({
          // Each partition's batches still run one at a time, in order; a fetch's partitions are handed over
          // together, so a consumer that groups them (central: one transaction for them all) sees them at once.
          partitionsConsumedConcurrently: this.partitionsConcurrently,
          autoCommit: false,
          eachBatchAutoResolve: false,
          eachBatch: async ({ batch, resolveOffset, heartbeat, isStale }) => {
            if (batch.messages.length === 0 || isStale()) return;
            const k = `${batch.topic}/${batch.partition}`;
            seekedDuringBatch.delete(k);
            progress.in_batch++;
            turned();
            try {
              await handlers.eachBatch({
              topic: batch.topic,
              partition: batch.partition,
              high_watermark: Number(batch.highWatermark),
              records: batch.messages.map((m) => ({
                topic: batch.topic,
                partition: batch.partition,
                offset: Number(m.offset),
                key: m.key === null ? null : m.key.toString('utf8'),
                value: m.value ?? Buffer.alloc(0),
                headers: Object.fromEntries(
                  Object.entries(m.headers ?? {}).map(([k, v]) => [k, Buffer.isBuffer(v) ? v.toString('utf8') : String(v ?? '')]),
                ),
                timestamp_ms: Number(m.timestamp),
              })),
              });
            } finally {
              progress.in_batch--;
              turned();
            }
            if (seekedDuringBatch.has(k)) return;
            resolveOffset(batch.messages[batch.messages.length - 1]!.offset);
            await heartbeat();
          },
        });
      },
      seek: (tp: TopicPartition, offset: number) => {
        seekedDuringBatch.add(`${tp.topic}/${tp.partition}`);
        consumer.seek({ topic: tp.topic, partition: tp.partition, offset: String(offset) });
      },
      // Commits made in one turn of the event loop (a group of batches ingested together) go as one request.
      commit: (tp: TopicPartition, next_offset: number) => {
        pending.set(`${tp.topic}/${tp.partition}`, { topic: tp.topic, partition: tp.partition, offset: String(next_offset) });
        return (flushing ??= Promise.resolve().then(() => {
          const offsets = [...pending.values()];
          pending.clear();
          flushing = null;
          return consumer.commitOffsets(offsets);
        }));
      },
      stop: async () => {
        this.opened.delete(consumer);
        await consumer.disconnect();
      },
    };
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.opened].map((c) => c.disconnect()));
    this.opened.clear();
  }
}

/** Keys whose partition a producer remembers, at most (then it starts over). */
const REMEMBERED_KEYS = 200_000;

/**
 * kafkajs's default partitioner (murmur2 of the key, modulo the topic's partitions), remembering each key's
 * answer: the same few thousand stations are keys again in every batch, and hashing every message's key in
 * JavaScript took 2.2 s of the 53 s of CPU the WacoFlow process spent in a 60-second load test at 5,000
 * bins/s, most of it for window results (docs/benchmarks.md). Keyless
 * messages, and any whose partition is set, go to the default partitioner as they are.
 */
export const rememberingPartitioner: ICustomPartitioner = () => {
  const partitioner = Partitioners.DefaultPartitioner();
  const known = new Map<string, number>();
  return (args) => {
    const { topic, partitionMetadata, message } = args;
    if (typeof message.key !== 'string' || message.partition !== undefined) return partitioner(args);
    const k = `${topic}\u0000${partitionMetadata.length}\u0000${message.key}`;
    let partition = known.get(k);
    if (partition === undefined) {
      if (known.size >= REMEMBERED_KEYS) known.clear();
      known.set(k, (partition = partitioner(args)));
    }
    return partition;
  };
};
