/** The gateway's configuration schema. */
import { z } from 'zod';

export const GatewayConfigSchema = z
  .object({
    mqtt_host: z.string().min(1).default('127.0.0.1'),
    /** 0 picks a free port (embedded mode); gateway mode uses 1883. */
    mqtt_port: z.number().int().min(0).max(65_535).default(0),
  })
  .strict();
export type GatewayConfig = z.infer<typeof GatewayConfigSchema>;
