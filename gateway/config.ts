/** The gateway's configuration schema. */
import { z } from 'zod';

export const GatewayConfigSchema = z
  .object({
    mqtt_host: z.string().min(1).default('127.0.0.1'),
    /** 0 picks a free port (embedded mode); gateway mode uses 1883. */
    mqtt_port: z.number().int().min(0).max(65_535).default(0),
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
