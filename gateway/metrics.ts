/** The gateway's metrics, all in one place. */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export type GatewayMetrics = ReturnType<typeof gatewayMetrics>;

export function gatewayMetrics(registry: Registry) {
  const registers = [registry];
  return {
    connected: new Gauge({ name: 'wacoflow_gateway_connected_devices', help: 'Devices connected to the broker now.', registers }),
    messages: new Counter({
      name: 'wacoflow_gateway_messages_total',
      help: 'MQTT publishes from devices, by kind and result (forwarded, dead_lettered, refused, failed).',
      labelNames: ['kind', 'result'] as const,
      registers,
    }),
    bytes: new Counter({ name: 'wacoflow_gateway_received_bytes_total', help: 'Payload bytes received from devices.', registers }),
    authFailures: new Counter({
      name: 'wacoflow_gateway_auth_failures_total',
      help: 'Refused connections, publishes and subscriptions, by reason.',
      labelNames: ['reason'] as const,
      registers,
    }),
    produceSeconds: new Histogram({
      name: 'wacoflow_gateway_produce_duration_seconds',
      help: 'Time from receiving a publish to the log confirming it durable (the PUBACK waits for this).',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    }),
    inflight: new Gauge({ name: 'wacoflow_gateway_inflight_messages', help: 'Publishes waiting for the log.', registers }),
  };
}
