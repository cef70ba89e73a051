/**
 * What central's HTTP API reads, answered from the store and from central's own state: the one object the
 * Fastify server (server.ts) asks, so the server knows nothing of PostgreSQL or the log.
 */
import type { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import { encode, type DeviceCommand, type Station, type WindowLevel } from '../../protocol/index.ts';
import type { Clock } from '../../platform/clock.ts';
import type { Log, LogProducer } from '../../platform/log/log.ts';
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
  /** Whether central's consumer is running (health). */
  consuming(): boolean;
  /** The producer for operator commands, once started. */
  producer(): LogProducer | null;
  admin_topic: string;
}

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
      const checks: Record<string, string> = { log: d.log.kind, store: store.db.kind, consumer: d.consuming() ? 'running' : 'stopped' };
      try {
        await store.db.query('SELECT 1');
      } catch (err) {
        checks.store = `unreachable: ${(err as Error).message}`;
        return { status: 'degraded' as const, checks };
      }
      return { status: d.consuming() ? ('ok' as const) : ('degraded' as const), checks };
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
