/** The gateway's configuration schema. */
import { z } from 'zod';
import { TOPIC_PREFIX } from '../protocol/index.ts';

export const GatewayConfigSchema = z
  .object({
    mqtt_host: z.string().min(1).default('127.0.0.1'),
    /** 0 picks a free port (embedded mode); gateway mode uses 1883. */
    mqtt_port: z.number().int().min(0).max(65_535).default(0),
    /** Publishes one device may have waiting for the log; past it the device is disconnected. */
    max_inflight_per_client: z.number().int().min(1).max(10_000).default(32),
    /** Publishes waiting for the log across all devices; past it new publishes are refused (the device reconnects). */
    max_inflight_total: z.number().int().min(1).max(1_000_000).default(2_000),
    /** Messages per second one device may send (burst: twice that); a flooding device is disconnected. */
    max_messages_per_s_per_client: z.number().min(0.1).max(100_000).default(50),
    /** Consecutive failed produces that open the Kafka breaker, and how long publishes are refused at once then. */
    log_breaker_threshold: z.number().int().min(1).max(1_000).default(5),
    log_breaker_open_ms: z.number().int().min(100).max(600_000).default(5_000),
    /** On stop, how long publishes already sent to the log may take to be acknowledged before devices are disconnected. */
    drain_ms: z.number().int().min(0).max(120_000).default(5_000),
    /** Kafka topics under this prefix ("staging" → staging.wacoflow.bins.v1); null: the protocol's names. */
    topic_prefix: z.string().regex(TOPIC_PREFIX, 'letters, digits, dots, dashes and underscores').nullable().default(null),
    /** MQTT over TLS, beside the plain listener (PEM contents). */
    tls: z
      .object({
        port: z.number().int().min(0).max(65_535).default(8883),
        cert: z.string().min(1),
        key: z.string().min(1),
        /** The CA that signs device certificates; with require_client_cert, only its certificates get in. */
        ca: z.string().min(1).optional(),
        /** Mutual TLS: a device must present a certificate whose common name is its device id. */
        require_client_cert: z.boolean().default(false),
      })
      .strict()
      .optional(),
  })
  .strict();
export type GatewayConfig = z.infer<typeof GatewayConfigSchema>;
/** What callers give: everything with a default may be left out. */
export type GatewayConfigInput = z.input<typeof GatewayConfigSchema>;
