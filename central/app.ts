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
import { alignDown, encode, kafkaTopics, WINDOW_MS, type Bin, type DeviceCommand, type Station, type WindowLevel, type WindowResult } from '../protocol/index.ts';
import type { Cancel, Clock } from '../platform/clock.ts';
import type { Log, LogConsumer, LogProducer } from '../platform/log/log.ts';
import { listen } from '../platform/net.ts';
import type { CentralConfig } from './config.ts';
import { ingestBins } from './consume/bin-ingest.ts';
import { ingestHealth } from './consume/health-ingest.ts';
import { PartitionPositions } from './consume/partition-positions.ts';
import type { AlertsQuery, NetworkView } from './http/api.ts';
import { buildHttp, type StationView } from './http/server.ts';
import { toFleetDevices } from './fleet.ts';
import { centralMetrics, viewMetrics } from './metrics.ts';
import { rollingAsWindow } from './store/analytics-store.ts';
import { DEFAULT_PARTITIONS, maintainPartitions } from './store/partitions.ts';
import type { Store } from './store/store.ts';
import type { DetectorRef, WindowRow } from './store/rows.ts';
import { stationLookup, toWindowResult } from './windows/result.ts';
import { Analytics } from './analytics.ts';
import { Finalizer } from './finalizer.ts';

/** The rolling 5-minute view advances every minute. */
const ROLLING_EVERY_MS = 60_000;

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
  const stations = new Map(deps.stations.map((s) => [s.station_id, s]));
  const topics = kafkaTopics(config.topic_prefix);
  const positions = new PartitionPositions(store, config.group_id, {
    onLogReset: (tp, stored, high) => {
      metrics.offsetAnomalies.inc({ kind: 'log_reset' });
      logger.warn({ ...tp, stored_offset: stored, high_watermark: high }, 'the log holds fewer records than already processed: treating it as a new log');
    },
    onGap: (tp, stored, first) => {
      metrics.offsetAnomalies.inc({ kind: 'gap' });
      logger.error({ ...tp, stored_offset: stored, first_available: first }, 'records between the stored offset and the log start are gone (retention): they were never processed');
    },
  });
  let consumer: LogConsumer | null = null;
  let producer: LogProducer | null = null;
  let http: FastifyInstance | null = null;
  let address: { host: string; port: number } | null = null;
  let stopFinalizer: Cancel | null = null;
  let finalizing: Promise<unknown> = Promise.resolve();
  /** Window results on their way to the log; stop() waits for them, so a clean shutdown drops none. */
  const publishing = new Set<Promise<void>>();
  const published = async (): Promise<void> => {
    while (publishing.size > 0) await Promise.allSettled([...publishing]);
  };

  // Each detector's station: from the detectors table at start (the inventory is written there first) and from
  // every bin stored since, so results about a detector travel keyed by its station, as everything else does.
  const detectorStation = new Map<string, string>();
  const stationOf = (key: string): string => detectorStation.get(key) ?? key;
  const learnedFreeFlow = new Map<string, number>();
  const lookup = stationLookup(stations, learnedFreeFlow, (detector_id) => detectorStation.get(detector_id));
  /** The key a window result travels under on the log: its station (a corridor's own id for corridors). */
  const logKey = (w: WindowResult): string => (w.level === 'detector' ? stationOf(w.key) : w.key);

  const emit = (rows: WindowRow[]): WindowResult[] => {
    const results = rows.map((r) => toWindowResult(r, lookup));
    for (const w of results) {
      metrics.windowsEmitted.inc({ level: w.level, state: w.state });
      events.emit('window', w);
    }
    // A provisional result for a window already past its end + grace is superseded by the final one within a
    // finalisation pass, so the log gets only that: a backlog then costs one message a window, not two.
    const now = clock.now();
    const outgoing = results.filter((w) => w.state !== 'provisional' || w.window_end_ms + config.grace_ms > now);
    if (producer && outgoing.length > 0) {
      // Downstream copy for other consumers; PostgreSQL already holds the result, so a failure here is logged.
      const sent: Promise<void> = producer
        .send(topics.windows, outgoing.map((w) => ({ key: logKey(w), value: encode(w), headers: { type: 'window' } })))
        .catch((err: unknown) => logger.warn({ err }, 'could not publish window results to the log'))
        .finally(() => publishing.delete(sent));
      publishing.add(sent);
    }
    return results;
  };

  const onCommitError = (err: unknown, tp: { topic: string; partition: number }): void =>
    logger.warn({ err, ...tp }, 'could not commit the offset to the log (PostgreSQL has it; a rebalance may redeliver, and dedupe drops the repeats)');

  const fleet = async () => {
    const [devices, detectors, open] = await Promise.all([store.devices(), store.detectors(), store.analytics.alerts('open')]);
    return toFleetDevices(devices, detectors, open, clock.now());
  };
  /** Devices changed (a heartbeat or status arrived): the gauges and the 'fleet' event. */
  const refreshFleet = async (): Promise<void> => {
    const devices = await fleet();
    metrics.devices.reset();
    for (const status of ['online', 'offline', 'unknown'] as const) {
      metrics.devices.set({ status }, devices.filter((d) => d.status === status).length);
    }
    events.emit('fleet', devices);
  };
  viewMetrics(deps.registry, {
    fleet,
    openAlerts: () => store.analytics.alerts('open'),
    stationLevels: async () => (await store.latestFinalWindows('station')).map((r) => ({ station_id: r.key, congestion: toWindowResult(r, lookup).congestion })),
  });

  const finalizer = new Finalizer({
    store, clock, logger, emit,
    newAnalytics: () => new Analytics(config.time_zone, stations),
    grace_ms: config.grace_ms,
    lease_ms: Math.max(3 * config.finalize_interval_ms, 30_000),
    history_days: config.analytics_history_days,
    retention_days: config.window_retention_days,
    late_horizon_ms: config.late_horizon_ms,
    toResult: (row) => toWindowResult(row, lookup),
    producer: () => producer,
    alerts_topic: topics.alerts,
    stationOf,
    onAlert: (alert) => {
      metrics.alerts.inc({ kind: alert.kind, state: alert.state });
      events.emit('alert', alert);
    },
    onForecast: (forecast) => events.emit('forecast', forecast),
    onRolling: (result) => events.emit('rolling', result),
    onLearnedFreeFlow: (learned) => {
      learnedFreeFlow.clear();
      for (const [k, v] of learned) learnedFreeFlow.set(k, v);
    },
  });

  const finalize = async (): Promise<WindowResult[]> => {
    const run = finalizing.then(() => finalizer.pass());
    finalizing = run.catch(() => {});
    return run;
  };

  /** Windows written by a bin batch: emitted, and revisions analysed when this instance runs the analytics. */
  const onWindows = (rows: WindowRow[], bins: Bin[]): void => {
    for (const b of bins) detectorStation.set(b.detector_id, b.station_id);
    const results = emit(rows);
    finalizing = finalizing.then(() => finalizer.revised(results)).catch((err: unknown) => logger.warn({ err }, 'analysing revised windows failed'));
  };

  const source = {
    now: () => clock.now(),
    network: () => deps.network ?? { corridors: [], intersections: [] },
    async health() {
      const checks: Record<string, string> = { log: log.kind, store: store.db.kind, consumer: consumer ? 'running' : 'stopped' };
      try {
        await store.db.query('SELECT 1');
      } catch (err) {
        checks.store = `unreachable: ${(err as Error).message}`;
        return { status: 'degraded' as const, checks };
      }
      return { status: consumer ? ('ok' as const) : ('degraded' as const), checks };
    },
    async stations(): Promise<StationView[]> {
      const [current, final, rolled, forecasts] = await Promise.all([
        store.latestWindows('station'), store.latestFinalWindows('station'), store.analytics.rolling(), store.analytics.forecasts(),
      ]);
      const byKey = (rows: WindowRow[]) => new Map(rows.map((r) => [r.key, toWindowResult(r, lookup)]));
      const [c, f] = [byKey(current), byKey(final)];
      const r = byKey(rolled.map(rollingAsWindow));
      return deps.stations.map((s) => ({
        ...s,
        current: c.get(s.station_id) ?? null,
        last_final: f.get(s.station_id) ?? null,
        rolling: r.get(s.station_id) ?? null,
        forecast: forecasts.filter((x) => x.station_id === s.station_id).map(({ station_id: _, issued_window_start_ms: __, ...x }) => x),
      }));
    },
    hasStation: (station_id: string) => stations.has(station_id),
    async windows(level: WindowLevel, key: string, from_ms: number, to_ms: number, limit: number) {
      return (await store.windowsOf(level, key, from_ms, to_ms, limit)).map((r) => toWindowResult(r, lookup));
    },
    detectors: () => store.detectors(),
    async commandDevice(device_id: string, action: 'disable' | 'enable', by: string) {
      if (!(await store.devices()).some((d) => d.device_id === device_id)) return false;
      const command: DeviceCommand = { v: 1, device_id, action, by, ts_ms: clock.now() };
      await producer!.send(topics.admin, [{ key: device_id, value: encode(command), headers: { type: 'device_command' } }]);
      logger.warn({ device_id, action, by }, 'operator command sent to the gateways');
      return true;
    },
    acknowledgeAlert: (alert_id: string, by: string) => store.analytics.acknowledgeAlert(alert_id, by, clock.now()),
    alerts: (q: AlertsQuery) => store.analytics.recentAlerts(q.state === 'all' ? null : q.state, q.since_ms ?? null, q.limit),
    fleet,
    events,
  };

  const rolling = async (): Promise<WindowResult[]> => {
    const run = finalizing.then(() => finalizer.rolling());
    finalizing = run.catch(() => {});
    return run;
  };

  return {
    events,
    address: () => address,
    finalize,
    published,
    rolling,

    async start() {
      await store.migrate();
      // Today's partitions (and the week before, where a backlog lands) before the first batch: rows written
      // before their day's partition exists go to the default partition and must be moved later, which cost a
      // backlog about a tenth of PostgreSQL's time (bench:central, profile stage).
      await maintainPartitions(store.db, clock.now(), { ...DEFAULT_PARTITIONS, retention_days: config.window_retention_days });
      await store.upsertStations(deps.stations, clock.now());
      await store.upsertDetectors(deps.detectors ?? [], clock.now());
      for (const d of await store.detectors()) detectorStation.set(d.detector_id, d.station_id);
      await log.ensureTopics(
        Object.entries(topics).map(([k, name]) => ({ name, partitions: config.partitions[k as keyof typeof topics], compact: name === topics.admin })),
      );
      producer = await log.producer();
      http = buildHttp({ version: deps.version, registry: deps.registry, source, operator_token: config.operator_token });
      await http.ready();
      address = await listen(http.server, config.http_host, config.http_port, 'http_port');

      const c = log.consumer(config.group_id);
      consumer = c;
      await c.run({
        topics: [topics.bins, topics.health],
        onAssignment: () => positions.reset(),
        eachBatch: async (batch) => {
          const stop = metrics.batchSeconds.startTimer({ topic: batch.topic });
          try {
            if (batch.topic === topics.bins) {
              await ingestBins(batch, c, { store, clock, metrics, positions, group_id: config.group_id, stations, late_horizon_ms: config.late_horizon_ms, onWindows, onCommitError });
            } else {
              await ingestHealth(batch, c, {
                store, clock, metrics, positions, group_id: config.group_id, onCommitError,
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
        },
      });
      const pass = () => void finalize().catch((err: unknown) => logger.error({ err }, 'finalising windows failed'));
      // A pass at the moment each slot becomes due (end + grace), so a window is final within a pass's duration of
      // its deadline; the periodic pass renews the lease and catches anything a missed timer left behind.
      let atDue: Cancel = () => {};
      const scheduleDue = (): void => {
        const now = clock.now();
        const due = alignDown(now - config.grace_ms, WINDOW_MS) + WINDOW_MS + config.grace_ms;
        atDue = clock.after(Math.max(1, due - now), () => {
          pass();
          scheduleDue();
        });
      };
      scheduleDue();
      const stopPeriodic = clock.every(config.finalize_interval_ms, pass);
      const stopRolling = clock.every(ROLLING_EVERY_MS, () => {
        rolling().catch((err: unknown) => logger.error({ err }, 'refreshing the rolling view failed'));
      });
      stopFinalizer = () => {
        atDue();
        stopPeriodic();
        stopRolling();
      };
      logger.info({ log: log.kind, store: store.db.kind, http: address }, 'central started');
    },

    async stop() {
      stopFinalizer?.();
      await consumer?.stop();
      consumer = null;
      await finalizing;
      await finalizer.stop();
      await http?.close();
      await published();
      await producer?.close();
      producer = null;
      logger.info('central stopped');
    },
  };
}
