/**
 * Central, composed without side effects; `start` opens what it needs, `stop` closes it.
 *
 *   log: wacoflow.bins.v1 ──▶ bin-ingest ─┐                       ┌─▶ events ('window') ─▶ API / dashboard
 *                                         ├─▶ one PG transaction ─┤
 *   log: wacoflow.health.v1 ▶ health ─────┘   (rows + offsets)    └─▶ log: wacoflow.windows.v1
 *   finalizer (every finalize_interval_ms, one instance, under a lease in PostgreSQL):
 *     provisional ─▶ final once end + grace has passed; no_data for known keys that sent nothing
 *     final windows ─▶ analytics ─▶ alerts, forecasts ─▶ PostgreSQL, events, log: wacoflow.alerts.v1
 *   HTTP: /api/health, /api/stations, /metrics
 */
import { EventEmitter } from 'node:events';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { alignDown, kafkaTopics, WINDOW_MS, type Bin, type Station, type WindowResult } from '../protocol/index.ts';
import type { Cancel, Clock } from '../platform/clock.ts';
import type { Log, LogBatch, LogConsumer, LogProducer } from '../platform/log/log.ts';
import { listen } from '../platform/net.ts';
import type { CentralConfig } from './config.ts';
import { ingestBins } from './consume/bin-ingest.ts';
import { GroupCommit } from './consume/group-commit.ts';
import { ingestHealth } from './consume/health-ingest.ts';
import { PartitionPositions } from './consume/partition-positions.ts';
import type { NetworkView } from './http/api.ts';
import { buildHttp } from './http/server.ts';
import { apiSource, fleetOf } from './http/source.ts';
import { StationIndex } from './keys.ts';
import { centralMetrics, viewMetrics, type CentralMetrics } from './metrics.ts';
import type { Store } from './store/store.ts';
import type { DetectorRef, WindowRow } from './store/rows.ts';
import { toWindowResult } from './windows/result.ts';
import { WindowPublisher } from './window-publisher.ts';
import { Analytics } from './analytics.ts';
import { downstreamNeighbours } from './forecast/corridors.ts';
import { Finalizer } from './finalizer.ts';
import { givingWayTo } from './background.ts';
import type { StationShare } from './store/analytics-store.ts';

/** The rolling 5-minute view advances every minute. */
const ROLLING_EVERY_MS = 60_000;

/**
 * The shares the rolling view is refreshed in, one every minute / shares: more than a thousand stations are
 * refreshed a twelfth at a time, every 5 s. Refreshed at once, 10,000 stations made one burst of work a minute
 * for PostgreSQL and central (2.4 s of PostgreSQL at 5,000 bins/s), and the bins ingested meanwhile waited
 * behind it (docs/benchmarks.md, load test). A town's stations go in one, as each share reads every detector.
 */
export function rollingShares(stations: number): number {
  return stations > 1_000 ? 12 : 1;
}
/** Bins batches share a transaction up to this many record bytes: one partition's fetch (platform/log/kafka-log.ts). */
const GROUP_MAX_BYTES = 4 * 1024 * 1024;
/** Groups in flight at once, each a transaction on its own connection, when a megabyte or more waits (a backlog). */
const GROUPS_IN_FLIGHT = 3;

export interface CentralDeps {
  log: Log;
  store: Store;
  clock: Clock;
  logger: Logger;
  registry: Registry;
  stations: Station[];
  /** The detector inventory; detectors not listed are learned from their first bin. */
  detectors?: DetectorRef[];
  /** The road network's geometry for maps (optional: without it a map joins a corridor's stations). */
  network?: NetworkView;
  version: string;
}

export interface Central {
  start(): Promise<void>;
  stop(): Promise<void>;
  /** 'window' (WindowResult) after every committed change; 'alert' (Alert) as one opens or closes; 'forecast' (StationForecast). */
  readonly events: EventEmitter;
  /** The HTTP address once started. */
  address(): { host: string; port: number } | null;
  /** Runs one finalisation pass now (tests, shutdown). */
  finalize(): Promise<WindowResult[]>;
  /** Settles once every window result emitted so far has been acknowledged by the log (or failed, logged). */
  published(): Promise<void>;
  /** Refreshes the rolling view now (it also refreshes every minute). */
  rolling(): Promise<WindowResult[]>;
}

export function buildCentral(config: CentralConfig, deps: CentralDeps): Central {
  const { log, store, clock, logger } = deps;
  const events = new EventEmitter();
  const metrics = centralMetrics(deps.registry);
  const index = new StationIndex(deps.stations);
  const topics = kafkaTopics(config.topic_prefix);
  const positions = partitionPositions(store, config.group_id, metrics, logger);
  /** Bins batches that arrive together share a transaction (./consume/group-commit.ts); made in start(). */
  let binGroups: GroupCommit | null = null;
  /** Background work gives way to live ingest between its slices (./background.ts). */
  const turn = givingWayTo(() => binGroups);
  const publisher = new WindowPublisher({ clock, events, logger, metrics, index, topic: topics.windows, grace_ms: config.grace_ms, turn });
  let consumer: LogConsumer | null = null;
  let producer: LogProducer | null = null;
  let http: FastifyInstance | null = null;
  let address: { host: string; port: number } | null = null;
  let stopTimers: Cancel | null = null;

  /** Devices changed (a heartbeat or status arrived): the gauges and the 'fleet' event. */
  const refreshFleet = async (): Promise<void> => {
    const devices = await fleetOf(store, clock);
    metrics.devices.reset();
    for (const status of ['online', 'offline', 'unknown'] as const) {
      metrics.devices.set({ status }, devices.filter((d) => d.status === status).length);
    }
    events.emit('fleet', devices);
  };
  viewMetrics(deps.registry, {
    fleet: () => fleetOf(store, clock),
    openAlerts: () => store.analytics.alerts('open'),
    stationLevels: async () => (await store.latestFinalWindows('station')).map((r) => ({ station_id: r.key, congestion: toWindowResult(r, index.lookup).congestion })),
  });

  const finalizer = new Finalizer({
    store, clock, logger,
    emit: (rows) => publisher.emitInSlices(rows),
    newAnalytics: () => new Analytics(config.time_zone, index.stations, downstreamNeighbours(index.stations.values(), deps.network?.corridors ?? [])),
    grace_ms: config.grace_ms,
    turn,
    lease_ms: Math.max(3 * config.finalize_interval_ms, 30_000),
    history_days: config.analytics_history_days,
    retention_days: config.window_retention_days,
    late_horizon_ms: config.late_horizon_ms,
    toResult: (row) => toWindowResult(row, index.lookup),
    producer: () => producer,
    alerts_topic: topics.alerts,
    stationOf: (key) => index.stationOf(key),
    onAlert: (alert) => {
      metrics.alerts.inc({ kind: alert.kind, state: alert.state });
      events.emit('alert', alert);
    },
    onForecast: (forecast) => events.emit('forecast', forecast),
    onRolling: (result) => events.emit('rolling', result),
    onLearnedFreeFlow: (learned) => index.setLearnedFreeFlow(learned),
  });

  // Finalisation passes, rolling refreshes and the analysis of revisions run one at a time, in order.
  let finalizing: Promise<unknown> = Promise.resolve();
  const serially = <T>(work: () => Promise<T>): Promise<T> => {
    const run = finalizing.then(work);
    finalizing = run.catch(() => {});
    return run;
  };
  const finalize = (): Promise<WindowResult[]> => serially(() => finalizer.pass());
  const rolling = (share?: StationShare): Promise<WindowResult[]> => serially(() => finalizer.rolling(share));

  /** Windows written by a bin batch: emitted; those written final or revised analysed here unless left for the lease holder. */
  const onWindows = (rows: WindowRow[], bins: Bin[], left_for_analysis: boolean): void => {
    index.learnDetectors(bins);
    const results = publisher.emit(rows);
    if (left_for_analysis) return;
    void serially(() => finalizer.written(results)).catch((err: unknown) => logger.warn({ err }, 'analysing windows written final failed'));
  };

  const onCommitError = (err: unknown, tp: { topic: string; partition: number }): void =>
    logger.warn({ err, ...tp }, 'could not commit the offset to the log (PostgreSQL has it; a rebalance may redeliver, and dedupe drops the repeats)');

  const context = { store, clock, metrics, positions, group_id: config.group_id, onCommitError };
  const groupsOf = (c: LogConsumer): GroupCommit =>
    new GroupCommit((batches) => ingestBins(batches, c, { ...context, stations: index.stations, late_horizon_ms: config.late_horizon_ms, grace_ms: config.grace_ms, analysesHere: () => finalizer.analysesHere(), onWindows }), {
      max_bytes: GROUP_MAX_BYTES,
      concurrency: GROUPS_IN_FLIGHT,
      parallel_min_bytes: GROUP_MAX_BYTES / 4,
    });

  /** One log batch, whichever topic: in a transaction (shared with other bins batches), retried by the log after a failure. */
  const onBatch = async (c: LogConsumer, batch: LogBatch): Promise<void> => {
    const stop = metrics.batchSeconds.startTimer({ topic: batch.topic });
    try {
      if (batch.topic === topics.bins) {
        await binGroups!.submit(batch); // made in start(), before the consumer runs
      } else {
        await ingestHealth(batch, c, {
          ...context,
          onDevicesChanged: () => void refreshFleet().catch((err: unknown) => logger.warn({ err }, 'fleet metrics refresh failed')),
        });
      }
    } catch (err) {
      metrics.batchErrors.inc({ topic: batch.topic });
      positions.reset(); // the transaction rolled back: reload what the store really has
      logger.error({ err, topic: batch.topic, partition: batch.partition }, 'batch failed; it will be retried');
      throw err;
    } finally {
      stop();
    }
  };

  return {
    events,
    address: () => address,
    finalize,
    published: () => publisher.published(),
    rolling: () => rolling(),

    async start() {
      await store.migrate();
      await finalizer.maintainPartitions(clock.now());
      await store.upsertStations(deps.stations, clock.now());
      await store.upsertDetectors(deps.detectors ?? [], clock.now());
      index.learnDetectors(await store.detectors());
      await log.ensureTopics(
        Object.entries(topics).map(([k, name]) => ({ name, partitions: config.partitions[k as keyof typeof topics], compact: name === topics.admin })),
      );
      producer = await log.producer();
      publisher.attach(producer);
      const source = apiSource({
        store, log, clock, logger, events, index, stations: deps.stations, ...(deps.network ? { network: deps.network } : {}),
        consumer: () => consumer?.progress() ?? null, producer: () => producer, admin_topic: topics.admin,
      });
      http = buildHttp({ version: deps.version, registry: deps.registry, source, operator_token: config.operator_token });
      await http.ready();
      address = await listen(http.server, config.http_host, config.http_port, 'http_port');

      const c = log.consumer(config.group_id);
      consumer = c;
      binGroups = groupsOf(c);
      await c.run({ topics: [topics.bins, topics.health], onAssignment: () => positions.reset(), eachBatch: (batch) => onBatch(c, batch) });
      stopTimers = startTimers(clock, config, rollingShares(deps.stations.length), {
        pass: () => void finalize().catch((err: unknown) => logger.error({ err }, 'finalising windows failed')),
        rolling: (share) => void rolling(share).catch((err: unknown) => logger.error({ err }, 'refreshing the rolling view failed')),
      });
      logger.info({ log: log.kind, store: store.db.kind, http: address }, 'central started');
    },

    async stop() {
      stopTimers?.();
      await consumer?.stop();
      consumer = null;
      await finalizing;
      await finalizer.stop();
      await http?.close();
      await publisher.published();
      publisher.attach(null);
      await producer?.close();
      producer = null;
      logger.info('central stopped');
    },
  };
}

function partitionPositions(store: Store, group_id: string, metrics: CentralMetrics, logger: Logger): PartitionPositions {
  return new PartitionPositions(store, group_id, {
    onLogReset: (tp, stored, high) => {
      metrics.offsetAnomalies.inc({ kind: 'log_reset' });
      logger.warn({ ...tp, stored_offset: stored, high_watermark: high }, 'the log holds fewer records than already processed: treating it as a new log');
    },
    onGap: (tp, stored, first) => {
      metrics.offsetAnomalies.inc({ kind: 'gap' });
      logger.error({ ...tp, stored_offset: stored, first_available: first }, 'records between the stored offset and the log start are gone (retention): they were never processed');
    },
  });
}

/**
 * A finalisation pass at once, so the lease holder is settled from the start (a backlog's windows, written
 * final as they arrive, are then analysed where they are written rather than handed over); a pass at the
 * moment each slot becomes due (end + grace), so a window is final within a pass's duration of its deadline; a
 * periodic pass that renews the lease and catches anything a missed timer left behind; and the rolling view
 * every minute, a share of the stations at a time. Returns what stops them all.
 */
function startTimers(clock: Clock, config: CentralConfig, parts: number, run: { pass(): void; rolling(share: StationShare): void }): Cancel {
  let atDue: Cancel = () => {};
  const scheduleDue = (): void => {
    const now = clock.now();
    const due = alignDown(now - config.grace_ms, WINDOW_MS) + WINDOW_MS + config.grace_ms;
    atDue = clock.after(Math.max(1, due - now), () => {
      run.pass();
      scheduleDue();
    });
  };
  run.pass();
  scheduleDue();
  const stopPeriodic = clock.every(config.finalize_interval_ms, run.pass);
  let part = 0;
  const stopRolling = clock.every(ROLLING_EVERY_MS / parts, () => {
    run.rolling({ part, parts });
    part = (part + 1) % parts;
  });
  return () => {
    atDue();
    stopPeriodic();
    stopRolling();
  };
}
