/**
 * The in-process log used in embedded mode: topics with partitions, offsets, and consumer groups whose members
 * split the partitions round-robin and hand them over on join and leave (a partition is never processed by
 * two members at once). It is not durable: records live as long as the process.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { ERR, WacoflowError } from '../errors.ts';
import {
  partitionFor,
  type ConsumerHandlers,
  type ConsumerProgress,
  type Log,
  type LogBatch,
  type LogConsumer,
  type LogProducer,
  type LogRecord,
  type OutgoingRecord,
  type TopicPartition,
  type TopicSpec,
} from './log.ts';

const MAX_BATCH = 500;
const RETRY_DELAY_MS = 200;
const tpKey = (tp: TopicPartition): string => `${tp.topic}/${tp.partition}`;

interface Group {
  members: Map<number, MemoryConsumer>;
  committed: Map<string, number>;
  /** The batch in progress per partition, so a new owner waits for the old one to finish. */
  busy: Map<string, Promise<void>>;
}

export interface MemoryLogOptions {
  now?: () => number;
  onHandlerError?: (err: unknown, batch: LogBatch) => void;
}

export class MemoryLog implements Log {
  readonly kind = 'memory' as const;
  private readonly topics = new Map<string, LogRecord[][]>();
  private readonly groups = new Map<string, Group>();
  private wake: Array<() => void> = [];
  private nextMemberId = 0;
  private closed = false;

  private readonly options: MemoryLogOptions;

  constructor(options: MemoryLogOptions = {}) {
    this.options = options;
  }

  async ensureTopics(specs: TopicSpec[]): Promise<void> {
    for (const spec of specs) {
      if (!this.topics.has(spec.name)) this.topics.set(spec.name, Array.from({ length: spec.partitions }, () => []));
    }
    for (const group of this.groups.values()) this.rebalance(group);
  }

  async producer(): Promise<LogProducer> {
    return {
      send: async (topic, records) => this.append(topic, records),
      close: async () => {},
    };
  }

  consumer(group_id: string): LogConsumer {
    let group = this.groups.get(group_id);
    if (!group) {
      group = { members: new Map(), committed: new Map(), busy: new Map() };
      this.groups.set(group_id, group);
    }
    return new MemoryConsumer(this, group, this.nextMemberId++);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.notify();
  }

  /** Records of one partition from `offset`, at most `max`. */
  read(tp: TopicPartition, offset: number, max: number): { records: LogRecord[]; high_watermark: number } {
    const partition = this.topics.get(tp.topic)?.[tp.partition] ?? [];
    return { records: partition.slice(offset, offset + max), high_watermark: partition.length };
  }

  partitionsOf(topic: string): number {
    return this.topics.get(topic)?.length ?? 0;
  }

  isClosed(): boolean {
    return this.closed;
  }

  /** Resolves at the next append, assignment change or close (or after `ms` as a safety net). */
  changed(ms = 1_000): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(resolve, ms);
      this.wake.push(() => {
        clearTimeout(t);
        resolve();
      });
    });
  }

  notify(): void {
    const waiting = this.wake;
    this.wake = [];
    for (const w of waiting) w();
  }

  join(group: Group, member: MemoryConsumer): void {
    group.members.set(member.id, member);
    this.rebalance(group);
  }

  leave(group: Group, member: MemoryConsumer): void {
    group.members.delete(member.id);
    this.rebalance(group);
  }

  reportError(err: unknown, batch: LogBatch): void {
    this.options.onHandlerError?.(err, batch);
  }

  private append(topic: string, records: OutgoingRecord[]): void {
    if (this.closed) throw new WacoflowError(ERR.LOG_UNAVAILABLE, 'the in-process log is closed', { retriable: true });
    const partitions = this.topics.get(topic);
    if (!partitions) throw new WacoflowError(ERR.LOG_UNAVAILABLE, `topic ${topic} does not exist in the in-process log`);
    const timestamp_ms = this.options.now?.() ?? Date.now();
    for (const r of records) {
      const partition = partitionFor(r.key, partitions.length);
      const log = partitions[partition]!;
      log.push({ topic, partition, offset: log.length, key: r.key, value: r.value, headers: { ...r.headers }, timestamp_ms });
    }
    this.notify();
  }

  /** Round-robin over members in join order, like Kafka's RoundRobinAssignor over sorted partitions. */
  private rebalance(group: Group): void {
    const members = [...group.members.values()].sort((a, b) => a.id - b.id);
    const topics = [...new Set(members.flatMap((m) => m.topics))].sort();
    const all = topics.flatMap((topic) => Array.from({ length: this.partitionsOf(topic) }, (_, partition) => ({ topic, partition })));
    const next = new Map<number, TopicPartition[]>(members.map((m) => [m.id, []]));
    let i = 0;
    for (const tp of all) {
      const eligible = members.filter((m) => m.topics.includes(tp.topic));
      if (eligible.length === 0) continue;
      next.get(eligible[i++ % eligible.length]!.id)!.push(tp);
    }
    for (const m of members) m.assign(next.get(m.id) ?? []);
    this.notify();
  }
}

class MemoryConsumer implements LogConsumer {
  topics: string[] = [];
  private assignment: TopicPartition[] = [];
  private readonly positions = new Map<string, number>();
  private handlers: ConsumerHandlers | null = null;
  private running = false;
  private loop: Promise<void> | null = null;
  private waiting = false;
  private in_batch = 0;
  private last_turn_ms = Date.now();

  private readonly log: MemoryLog;
  readonly group: Group;
  readonly id: number;

  constructor(log: MemoryLog, group: Group, id: number) {
    this.log = log;
    this.group = group;
    this.id = id;
  }

  async run(handlers: ConsumerHandlers): Promise<void> {
    if (this.running) throw new Error('consumer already running');
    this.handlers = handlers;
    this.topics = handlers.topics;
    this.running = true;
    this.log.join(this.group, this);
    this.loop = this.fetchLoop();
  }

  assign(partitions: TopicPartition[]): void {
    const keep = new Set(partitions.map(tpKey));
    for (const k of this.positions.keys()) if (!keep.has(k)) this.positions.delete(k);
    this.assignment = partitions;
    this.handlers?.onAssignment?.(partitions);
  }

  seek(tp: TopicPartition, offset: number): void {
    this.positions.set(tpKey(tp), offset);
  }

  async commit(tp: TopicPartition, next_offset: number): Promise<void> {
    this.group.committed.set(tpKey(tp), next_offset);
  }

  progress(): ConsumerProgress {
    const state = this.running ? 'running' : this.loop ? 'stopped' : 'starting';
    // Waiting for the next record is the loop turning: the in-process log wakes it when one comes.
    return { state, in_batch: this.in_batch, last_turn_ms: this.waiting ? Date.now() : this.last_turn_ms };
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.log.notify();
    await this.loop;
    this.log.leave(this.group, this);
  }

  private async fetchLoop(): Promise<void> {
    while (this.running && !this.log.isClosed()) {
      let delivered = false;
      for (const tp of this.assignment) {
        if (!this.running) break;
        const k = tpKey(tp);
        await this.group.busy.get(k);
        if (!this.assignment.some((a) => tpKey(a) === k)) continue; // moved away while we waited
        const position = this.positions.get(k) ?? this.group.committed.get(k) ?? 0;
        const { records, high_watermark } = this.log.read(tp, position, MAX_BATCH);
        if (records.length === 0) continue;
        const batch: LogBatch = { ...tp, records, high_watermark };
        let done!: () => void;
        this.group.busy.set(k, new Promise((r) => (done = r)));
        this.in_batch++;
        this.last_turn_ms = Date.now();
        try {
          this.positions.delete(k);
          await this.handlers!.eachBatch(batch);
          // If the partition moved away meanwhile, its next owner starts from the committed offset instead.
          const stillMine = this.assignment.some((a) => tpKey(a) === k);
          if (stillMine && !this.positions.has(k)) this.positions.set(k, position + records.length);
          if (!stillMine) this.positions.delete(k);
          delivered = true;
        } catch (err) {
          if (this.assignment.some((a) => tpKey(a) === k)) this.positions.set(k, position); // redeliver the same batch
          this.log.reportError(err, batch);
          await delay(RETRY_DELAY_MS);
        } finally {
          this.in_batch--;
          this.last_turn_ms = Date.now();
          this.group.busy.delete(k);
          done();
        }
      }
      if (!delivered && this.running) {
        this.waiting = true;
        await this.log.changed();
        this.waiting = false;
        this.last_turn_ms = Date.now();
      }
    }
  }
}
