/**
 * For central's tests: the backends to run on (the in-process log with PGlite always; Kafka with PostgreSQL
 * when WACOFLOW_KAFKA_BROKERS and WACOFLOW_DATABASE_URL are set, as in CI), a central on them with topics of
 * its own, and a wait for everything produced to be processed.
 */
import { randomUUID } from 'node:crypto';
import pino from 'pino';
import { Registry } from 'prom-client';
import { BIN_RECORD, binKey, binRecords, encode, kafkaTopics, type Bin, type BinRecord, type Station, type TopicSet } from '../protocol/index.ts';
import type { Clock } from '../platform/clock.ts';
import { KafkaLog } from '../platform/log/kafka-log.ts';
import type { Log } from '../platform/log/log.ts';
import { MemoryLog } from '../platform/log/memory-log.ts';
import { serviceAddress } from '../test/services.ts';
import { buildCentral, type Central } from './app.ts';
import { CentralConfigSchema, type CentralConfig } from './config.ts';
import { openPostgres } from './store/pg-driver.ts';
import { openPglite } from './store/pglite-driver.ts';
import type { SqlDriver } from './store/sql.ts';
import { Store } from './store/store.ts';
import { type DetectorRef } from './store/rows.ts';
import { withSchema } from './store/test-schema.ts';

export interface Backend {
  name: string;
  /** A fresh log and database; `close` drops what it made. */
  open(): Promise<{ log: Log; db: SqlDriver; close(): Promise<void> }>;
}

export function backends(): Backend[] {
  const out: Backend[] = [
    {
      name: 'in-process log + PGlite',
      open: async () => {
        const log = new MemoryLog();
        const db = await openPglite();
        return { log, db, close: async () => void (await Promise.all([log.close(), db.close()])) };
      },
    },
  ];
  const brokers = serviceAddress('WACOFLOW_KAFKA_BROKERS');
  const url = serviceAddress('WACOFLOW_DATABASE_URL');
  if (brokers && url) {
    out.push({
      name: 'Kafka + PostgreSQL',
      open: async () => {
        const schema = withSchema(url);
        const log = new KafkaLog({ brokers: brokers.split(','), client_id: `central-test-${randomUUID().slice(0, 8)}` });
        const db = await openPostgres(await schema.url());
        return { log, db, close: async () => void (await Promise.all([log.close(), db.close()]).then(() => schema.drop())) };
      },
    });
  }
  return out;
}

/** A topic prefix no other test uses, so a shared Kafka holds nothing else in these topics. */
export function ownTopics(): TopicSet & { prefix: string } {
  const prefix = `test-${randomUUID().slice(0, 8)}`;
  return { prefix, ...kafkaTopics(prefix) };
}

export interface TestCentral {
  central: Central;
  store: Store;
  config: CentralConfig;
}

export async function startCentral(
  env: { log: Log; db: SqlDriver },
  opts: { clock: Clock; stations: Station[]; detectors?: DetectorRef[]; topics: TopicSet & { prefix: string }; grace_ms?: number; late_horizon_ms?: number; operator_token?: string },
): Promise<TestCentral> {
  const config = CentralConfigSchema.parse({
    group_id: `central-${opts.topics.bins}`,
    topic_prefix: opts.topics.prefix,
    partitions: { bins: 3, health: 1, dlq: 1, windows: 3, alerts: 1 },
    http_port: 0,
    ...(opts.grace_ms !== undefined ? { grace_ms: opts.grace_ms } : {}),
    ...(opts.late_horizon_ms !== undefined ? { late_horizon_ms: opts.late_horizon_ms } : {}),
    ...(opts.operator_token !== undefined ? { operator_token: opts.operator_token } : {}),
  });
  const store = new Store(env.db);
  // The tests run every finalisation pass themselves (central.finalize()), so central's own timers never fire:
  // a pass the test did not ask for would take the rows the test is looking at.
  const clock: Clock = { speedup: opts.clock.speedup, now: () => opts.clock.now(), after: () => () => {}, sleep: (ms, signal) => opts.clock.sleep(ms, signal), every: () => () => {} };
  const central = buildCentral(config, {
    log: env.log, store, clock, logger: pino({ level: 'silent' }), registry: new Registry(), stations: opts.stations,
    ...(opts.detectors ? { detectors: opts.detectors } : {}), version: 'test',
  });
  await central.start();
  return { central, store, config };
}

/**
 * Produces bins as the gateway does: each device's bins, in order, as agent messages of up to
 * `bins_per_message`, each split into a record per station. Returns how many records it wrote, which is
 * what waitProcessed counts. `one_per_record` writes the earlier form instead: one bin per record.
 */
export async function produceBins(log: Log, topic: string, bins: Bin[], opts: { bins_per_message?: number; one_per_record?: boolean } = {}): Promise<number> {
  let records: BinRecord[];
  if (opts.one_per_record) records = bins.map((b) => ({ key: binKey(b), value: encode(b), headers: { type: BIN_RECORD } }));
  else {
    const byDevice = new Map<string, Bin[]>();
    for (const b of bins) {
      const own = byDevice.get(b.device_id);
      if (own) own.push(b);
      else byDevice.set(b.device_id, [b]);
    }
    const per = opts.bins_per_message ?? 200;
    records = [];
    for (const [device_id, own] of byDevice) {
      for (let i = 0; i < own.length; i += per) records.push(...binRecords({ v: 1, device_id, sent_ms: 0, bins: own.slice(i, i + per) }));
    }
  }
  const producer = await log.producer();
  try {
    for (let i = 0; i < records.length; i += 500) await producer.send(topic, records.slice(i, i + 500));
  } finally {
    await producer.close();
  }
  return records.length;
}

/** Waits until central has stored positions covering `records` records of `topic` (offsets start at 0). */
export async function waitProcessed(t: TestCentral, topic: string, records: number, timeout_ms = 60_000): Promise<void> {
  const end = Date.now() + timeout_ms;
  for (;;) {
    const { rows } = await t.store.db.query<{ n: string }>(
      'SELECT COALESCE(sum(next_offset), 0)::text AS n FROM consumer_offsets WHERE group_id = $1 AND topic = $2',
      [t.config.group_id, topic],
    );
    const done = Number(rows[0]!.n);
    if (done >= records) return;
    if (Date.now() > end) throw new Error(`central processed ${done} of ${records} records of ${topic} in ${timeout_ms} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
