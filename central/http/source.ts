/**
 * What central's HTTP API reads, answered from the store and from central's own state: the one object the
 * Fastify server (server.ts) asks, so the server knows nothing of PostgreSQL or the log.
 */
import type { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import { encode, type DeviceCommand, type Station, type WindowLevel } from '../../protocol/index.ts';
import type { Clock } from '../../platform/clock.ts';
import type { ConsumerProgress, Log, LogProducer } from '../../platform/log/log.ts';
import { toFleetDevices } from '../fleet.ts';
import type { StationIndex } from '../keys.ts';
import { rollingAsWindow } from '../store/analytics-store.ts';
import type { WindowRow } from '../store/rows.ts';
import type { Store } from '../store/store.ts';
import { toWindowResult } from '../windows/result.ts';
import type { AlertsQuery, FleetDevice, NetworkView } from './api.ts';
import type { ApiSource, StationView } from './server.ts';

export interface ApiSourceDeps {
  store: Store;
  log: Log;
  clock: Clock;
  logger: Logger;
  events: EventEmitter;
  index: StationIndex;
  /** The inventory's stations, in its order. */
  stations: readonly Station[];
  network?: NetworkView;
  /** Central's consumer, once started (health and probes). */
  consumer(): ConsumerProgress | null;
  /** The producer for operator commands, once started. */
  producer(): LogProducer | null;
  admin_topic: string;
}

/** How long the consume loop may go without a fetch or a batch before central counts as stuck (not live). */
export const LOOP_STALL_MS = 60_000;

/** How long PostgreSQL or Kafka has to answer a probe. */
const PROBE_MS = 2_000;

/** Null when `work` succeeds within a probe's time; otherwise what went wrong, as `why` words it. */
async function failureOf(work: () => Promise<unknown>, why: (message: string) => string = (m) => m): Promise<string | null> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<string>((resolve) => (timer = setTimeout(() => resolve(`no answer within ${PROBE_MS} ms`), PROBE_MS)));
  try {
    return await Promise.race([work().then(() => null), late]);
  } catch (err) {
    return why((err as Error).message);
  } finally {
    clearTimeout(timer);
  }
}

/** Null when the store answers `SELECT 1` in time; otherwise why not. */
const storeUnreachable = (store: Store) => failureOf(() => store.db.query('SELECT 1'), (m) => `unreachable: ${m}`);

/** Null when the log's brokers answer in time (or it has none to ask); otherwise why not. */
const logUnreachable = (log: Log) => (log.reachable ? failureOf(() => log.reachable!()) : Promise.resolve(null));

/** Every device with its inputs, detectors and open alerts, as the fleet page and metrics show them. */
export async function fleetOf(store: Store, clock: Clock): Promise<FleetDevice[]> {
  const [devices, detectors, open] = await Promise.all([store.devices(), store.detectors(), store.analytics.alerts('open')]);
  return toFleetDevices(devices, detectors, open, clock.now());
}

export function apiSource(d: ApiSourceDeps): ApiSource {
  const { store, clock, index } = d;
  const result = (r: WindowRow) => toWindowResult(r, index.lookup);
  return {
    events: d.events,
    now: () => clock.now(),
    network: () => d.network ?? { corridors: [], intersections: [] },
    async health() {
      const p = d.consumer();
      const consuming = p !== null && (p.state === 'starting' || p.state === 'running');
      const checks: Record<string, string> = { log: d.log.kind, store: store.db.kind, consumer: consuming ? 'running' : (p?.state ?? 'stopped') };
      const unreachable = await storeUnreachable(store);
      if (unreachable) {
        checks.store = unreachable;
        return { status: 'degraded' as const, checks };
      }
      return { status: consuming ? ('ok' as const) : ('degraded' as const), checks };
    },
    async live() {
      const p = d.consumer();
      if (p === null) return { ok: true, checks: { consumer: 'not started' } };
      if (p.state === 'failed') return { ok: false, checks: { consumer: 'failed: the Kafka client gave up; a restart starts it again' } };
      // Wall-clock time: the consumer's fetches happen in real time whatever the simulation's clock says.
      const idle_ms = Date.now() - p.last_turn_ms;
      if (p.in_batch > 0 || idle_ms <= LOOP_STALL_MS) {
        return { ok: true, checks: { consumer: p.in_batch > 0 ? `handling ${p.in_batch} batch(es)` : `turning (last ${idle_ms} ms ago)` } };
      }
      // No fetch for a minute. While Kafka is away that is the client retrying, and a restart would only wait
      // for Kafka again; with Kafka answering, the loop is stuck.
      const stalled = `no fetch or batch for ${Math.round(idle_ms / 1000)} s`;
      const kafka = await logUnreachable(d.log);
      if (kafka !== null) return { ok: true, checks: { consumer: `${stalled}; waiting for Kafka (${kafka})` } };
      return { ok: false, checks: { consumer: `stalled: ${stalled} while Kafka answers` } };
    },
    async ready() {
      const p = d.consumer();
      const checks: Record<string, string> = {
        store: (await storeUnreachable(store)) ?? 'answering',
        consumer: p === null ? 'not started' : p.state === 'running' ? 'in the group' : p.state,
        producer: d.producer() ? 'connected' : 'not connected',
      };
      return { ok: checks.store === 'answering' && checks.consumer === 'in the group' && checks.producer === 'connected', checks };
    },
    async stations(): Promise<StationView[]> {
      const [current, final, rolled, forecasts] = await Promise.all([
        store.latestWindows('station'), store.latestFinalWindows('station'), store.analytics.rolling(), store.analytics.forecasts(),
      ]);
      const byKey = (rows: WindowRow[]) => new Map(rows.map((r) => [r.key, result(r)]));
      const [c, f] = [byKey(current), byKey(final)];
      const r = byKey(rolled.map(rollingAsWindow));
      return d.stations.map((s) => ({
        ...s,
        current: c.get(s.station_id) ?? null,
        last_final: f.get(s.station_id) ?? null,
        rolling: r.get(s.station_id) ?? null,
        forecast: forecasts.filter((x) => x.station_id === s.station_id).map(({ station_id: _, issued_window_start_ms: __, ...x }) => x),
      }));
    },
    hasStation: (station_id: string) => index.stations.has(station_id),
    async windows(level: WindowLevel, key: string, from_ms: number, to_ms: number, limit: number) {
      return (await store.windowsOf(level, key, from_ms, to_ms, limit)).map(result);
    },
    detectors: () => store.detectors(),
    async commandDevice(device_id: string, action: 'disable' | 'enable', by: string) {
      if (!(await store.devices()).some((x) => x.device_id === device_id)) return false;
      const command: DeviceCommand = { v: 1, device_id, action, by, ts_ms: clock.now() };
      await d.producer()!.send(d.admin_topic, [{ key: device_id, value: encode(command), headers: { type: 'device_command' } }]);
      d.logger.warn({ device_id, action, by }, 'operator command sent to the gateways');
      return true;
    },
    acknowledgeAlert: (alert_id: string, by: string) => store.analytics.acknowledgeAlert(alert_id, by, clock.now()),
    alerts: (q: AlertsQuery) => store.analytics.recentAlerts(q.state === 'all' ? null : q.state, q.since_ms ?? null, q.limit),
    fleet: () => fleetOf(store, clock),
  };
}
