/** Central's metrics, all in one place. Names: wacoflow_central_<thing>_<unit>[_total]. */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { BreakerState, UpdateState, type Alert } from '../protocol/index.ts';
import { shared } from '../platform/shared.ts';
import type { FleetDevice } from './http/api.ts';

export type CentralMetrics = ReturnType<typeof centralMetrics>;

export function centralMetrics(registry: Registry) {
  const registers = [registry];
  return {
    bins: new Counter({
      name: 'wacoflow_central_bins_total',
      help: 'Bins read from the log, by result: stored (new, folded into windows), late (new, past the late horizon: kept in late_events), duplicate (already counted), invalid (dead-lettered; counted in records, which hold up to 500 bins).',
      labelNames: ['result'] as const,
      registers,
    }),
    healthMessages: new Counter({
      name: 'wacoflow_central_health_messages_total',
      help: 'Heartbeats and statuses read from the log, by type and result.',
      labelNames: ['type', 'result'] as const,
      registers,
    }),
    windowsEmitted: new Counter({
      name: 'wacoflow_central_windows_emitted_total',
      help: 'Window results emitted, by level and state.',
      labelNames: ['level', 'state'] as const,
      registers,
    }),
    alerts: new Counter({
      name: 'wacoflow_central_alert_events_total',
      help: 'Alert events (an alert opening or closing), by kind (traffic, detector_health) and state.',
      labelNames: ['kind', 'state'] as const,
      registers,
    }),
    batchSeconds: new Histogram({
      name: 'wacoflow_central_batch_duration_seconds',
      help: 'Time to process one log batch, transaction included.',
      labelNames: ['topic'] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    }),
    ingestTransactionSeconds: new Histogram({
      name: 'wacoflow_central_ingest_transaction_seconds',
      help: 'Time of one ingest transaction, from its first statement to its commit: the batches of bins it holds (one group) wait for it after their time in the group queue.',
      buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    }),
    lag: new Gauge({
      name: 'wacoflow_central_consumer_lag_records',
      help: 'Records in the log not yet processed, per topic and partition, as of the last batch.',
      labelNames: ['topic', 'partition'] as const,
      registers,
    }),
    offsetAnomalies: new Counter({
      name: 'wacoflow_central_offset_anomalies_total',
      help: 'Partitions found reset (log newer than the store) or with a gap (records removed by retention), by kind.',
      labelNames: ['kind'] as const,
      registers,
    }),
    batchErrors: new Counter({
      name: 'wacoflow_central_batch_errors_total',
      help: 'Batches that failed and will be retried, by topic.',
      labelNames: ['topic'] as const,
      registers,
    }),
    devices: new Gauge({
      name: 'wacoflow_fleet_devices',
      help: 'Devices known to central, by last reported status.',
      labelNames: ['status'] as const,
      registers,
    }),
  };
}

/** What the fleet and traffic gauges are read from at each scrape (PostgreSQL, through the store). */
export interface GaugeViews {
  fleet(): Promise<FleetDevice[]>;
  openAlerts(): Promise<Alert[]>;
  /** The newest final window of every station (its congestion level). */
  stationLevels(): Promise<{ station_id: string; congestion: string }[]>;
}

/**
 * Fleet-health and traffic gauges for Prometheus and its alert rules (deploy/prometheus/rules.yml), computed
 * from the store at scrape time, so every central instance reports the same values.
 */
export function viewMetrics(registry: Registry, views: GaugeViews): void {
  const registers = [registry];
  // Eight gauges read the fleet at each scrape: one query set serves them all (a scrape takes well under a second).
  const fleet = shared(views.fleet, 1_000);
  const perDevice = (name: string, help: string, value: (d: FleetDevice) => number | null) =>
    new Gauge({
      name, help, labelNames: ['device_id'] as const, registers,
      async collect() {
        this.reset();
        for (const d of await fleet()) {
          const v = value(d);
          if (v !== null) this.set({ device_id: d.device_id }, v);
        }
      },
    });
  perDevice('wacoflow_fleet_device_up', 'A device is online (1) or offline or unknown (0), by its retained status.', (d) => (d.status === 'online' ? 1 : 0));
  perDevice('wacoflow_fleet_device_heartbeat_age_seconds', 'Seconds since the device’s latest heartbeat was sent.', (d) => d.heartbeat_age_s);
  perDevice('wacoflow_fleet_device_outbox_depth', 'Bins waiting in the device’s outbox, as of its latest heartbeat.', (d) => d.outbox_depth);
  perDevice('wacoflow_fleet_device_outbox_oldest_age_seconds', 'Age of the oldest bin in the device’s outbox, as of its latest heartbeat.', (d) => (d.outbox_oldest_age_ms === null ? null : d.outbox_oldest_age_ms / 1000));
  perDevice('wacoflow_fleet_device_temperature_celsius', 'Board temperature from the device’s latest heartbeat, where it has a sensor.', (d) => d.temperature_c);
  perDevice('wacoflow_fleet_device_clock_synced', 'The device’s clock is synchronised (1) or not (0).', (d) => (d.clock_synced === null ? null : d.clock_synced ? 1 : 0));
  perDevice('wacoflow_fleet_device_config_refused', 'The device reports a refused configuration document (1), or none since a later one applied (0), as of its latest heartbeat; absent where it does not report its configuration.', (d) => (d.config === null ? null : d.config.refused ? 1 : 0));
  new Gauge({
    name: 'wacoflow_fleet_input_breaker_state',
    help: 'Each input’s circuit breaker as of its device’s latest heartbeat: 1 for its state (closed, open, half_open), 0 for the others.',
    labelNames: ['device_id', 'input', 'state'] as const,
    registers,
    async collect() {
      this.reset();
      for (const d of await fleet()) {
        for (const i of d.inputs) for (const state of BreakerState.options) this.set({ device_id: d.device_id, input: i.name, state }, i.breaker === state ? 1 : 0);
      }
    },
  });
  new Counter({
    name: 'wacoflow_fleet_input_breaker_transitions_total',
    help: 'Circuit-breaker transitions of each input since its agent started, by the state entered (open, half_open, closed), as of the latest heartbeat.',
    labelNames: ['device_id', 'input', 'to'] as const,
    registers,
    async collect() {
      this.reset();
      for (const d of await fleet()) {
        for (const i of d.inputs) {
          if (!i.breaker_transitions) continue;
          for (const to of BreakerState.options) this.inc({ device_id: d.device_id, input: i.name, to }, i.breaker_transitions[to]);
        }
      }
    },
  });
  new Gauge({
    name: 'wacoflow_fleet_devices_by_update_state',
    help: 'Devices by the state of their latest software update (idle, downloading, installing, trial, installed, refused, rolled_back, failed), as of their latest heartbeat.',
    labelNames: ['state'] as const,
    registers,
    async collect() {
      this.reset();
      // Every state, zero included, so a rule on rolled_back or failed sees 0 rather than no series.
      const counts = new Map<string, number>(UpdateState.options.map((state) => [state, 0]));
      for (const d of await fleet()) if (d.update) counts.set(d.update.state, (counts.get(d.update.state) ?? 0) + 1);
      for (const [state, n] of counts) this.set({ state }, n);
    },
  });
  new Gauge({
    name: 'wacoflow_detector_health_open_alerts',
    help: 'Open detector-health alerts, by rule (no_hits, stuck_on, chatter, flat_line_<measure>).',
    labelNames: ['rule'] as const,
    registers,
    async collect() {
      this.reset();
      const counts = new Map<string, number>();
      for (const a of await views.openAlerts()) if (a.kind === 'detector_health') counts.set(a.rule, (counts.get(a.rule) ?? 0) + 1);
      for (const [rule, n] of counts) this.set({ rule }, n);
    },
  });
  new Gauge({
    name: 'wacoflow_station_congestion',
    help: 'A station’s congestion level in its newest final window: 1 for its level, 0 for the others.',
    labelNames: ['station_id', 'level'] as const,
    registers,
    async collect() {
      this.reset();
      for (const s of await views.stationLevels()) {
        for (const level of ['clear', 'light', 'moderate', 'severe', 'unknown']) this.set({ station_id: s.station_id, level }, s.congestion === level ? 1 : 0);
      }
    },
  });
}
