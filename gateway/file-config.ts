/** The gateway's configuration file (`wacoflow gateway --config FILE`). */
import { z } from 'zod';
import { GatewayConfigSchema } from './config.ts';

const limit = GatewayConfigSchema.shape;

export const GatewayFileConfigSchema = z
  .object({
    mqtt_host: z.string().min(1).default('0.0.0.0'),
    mqtt_port: z.number().int().min(0).max(65_535).default(1883),
    /** Backpressure (defaults in gateway/config.ts): per-device and total publishes waiting for Kafka, per-device rate, Kafka breaker. */
    // The same bounds as the gateway itself, so a value out of range is reported against this file.
    max_inflight_per_client: limit.max_inflight_per_client.unwrap().optional(),
    max_inflight_total: limit.max_inflight_total.unwrap().optional(),
    max_messages_per_s_per_client: limit.max_messages_per_s_per_client.unwrap().optional(),
    log_breaker_threshold: limit.log_breaker_threshold.unwrap().optional(),
    log_breaker_open_ms: limit.log_breaker_open_ms.unwrap().optional(),
    /** On SIGTERM, how long publishes in flight to Kafka may take to be acknowledged before the devices are let go. */
    drain_ms: limit.drain_ms.unwrap().optional(),
    topic_prefix: limit.topic_prefix,
    /** The device registry that `wacoflow devices …` manages. */
    registry_file: z.string().min(1).optional(),
    /** How often the registry file is checked for changes. */
    registry_check_ms: z.number().int().min(100).max(600_000).default(2_000),
    kafka_brokers: z.array(z.string().regex(/^[^:\s]+:\d+$/, 'must be host:port')).min(1, 'give at least one Kafka broker'),
    /** At start-up, wait this long for Kafka to become reachable, retrying with backoff; 0: fail at once. */
    startup_wait_s: z.number().int().min(0).max(86_400).default(300),
    partitions: z
      .object({ bins: z.number().int().min(1).default(6), health: z.number().int().min(1).default(3), dlq: z.number().int().min(1).default(1) })
      .strict()
      .prefault({}),
    /** MQTT over TLS beside the plain listener: certificate, key, and the CA of device certificates for mutual TLS. */
    tls: z
      .object({
        port: z.number().int().min(0).max(65_535).default(8883),
        cert_file: z.string().min(1),
        key_file: z.string().min(1),
        ca_file: z.string().min(1).optional(),
        require_client_cert: z.boolean().default(false),
      })
      .strict()
      .refine((t) => !t.require_client_cert || t.ca_file, { message: 'require_client_cert needs ca_file (the CA that signs device certificates)', path: ['ca_file'] })
      .optional(),
    /** External-broker mode: bridge an existing broker instead of running one (the listeners above are not opened). */
    external_broker: z
      .object({
        url: z.string().regex(/^mqtts?:\/\/[^/]+$/, 'must look like mqtt://host:port'),
        client_id: z.string().min(1).max(64).default('wacoflow-gateway-bridge'),
        username: z.string().min(1).optional(),
        password: z.string().min(1).optional(),
        /** The site to bridge, or + for every site. */
        site: z.string().min(1).default('+'),
        reconnect_ms: z.number().int().min(100).max(600_000).default(1_000),
      })
      .strict()
      .optional(),
    metrics_host: z.string().min(1).default('127.0.0.1'),
    /** Prometheus /metrics, the /livez and /readyz probes (and /releases/ when releases_dir is set); off unless a port is given. */
    metrics_port: z.number().int().min(0).max(65_535).nullable().default(null),
    /** Signed agent releases served to boards at /releases/ on the metrics listener (docs/edge-boards.md). */
    releases_dir: z.string().min(1).nullable().default(null),
  })
  .strict()
  .refine((c) => c.releases_dir === null || c.metrics_port !== null, { message: 'releases are served on the metrics listener: set metrics_port (and metrics_host to an address boards reach)', path: ['releases_dir'] })
  .refine((c) => c.external_broker || c.registry_file, { message: 'give registry_file (own broker) or external_broker', path: ['registry_file'] });
export type GatewayFileConfig = z.infer<typeof GatewayFileConfigSchema>;
