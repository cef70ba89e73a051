/** Central's metrics, all in one place. Names: wacoflow_central_<thing>_<unit>[_total]. */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export type CentralMetrics = ReturnType<typeof centralMetrics>;

export function centralMetrics(registry: Registry) {
  const registers = [registry];
  return {
    bins: new Counter({
      name: 'wacoflow_central_bins_total',
      help: 'Bins read from the log, by result: stored (new, folded into windows), late (new, past the late horizon: kept in late_events), duplicate (already counted), invalid (dead-lettered).',
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
