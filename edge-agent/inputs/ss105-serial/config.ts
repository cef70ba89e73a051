import { z } from 'zod';
import { SerialLineSchema } from '../serial/link.ts';

export const Ss105ConfigSchema = z
  .object({
    driver: z.literal('ss105-serial'),
    name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'letters, digits, . _ - only').max(64),
    line: SerialLineSchema,
    /** Sensors on the line (RS-485 multidrop): drop address 0–9999 and the station each one watches. */
    drops: z
      .array(z.object({ drop: z.number().int().min(0).max(9_999), station_id: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._:-]*$/).max(48) }).strict())
      .min(1),
    /** The interval the sensors are configured to bin over. */
    interval_ms: z.number().int().min(10_000).max(3_600_000).default(20_000),
    poll_interval_ms: z.number().int().min(1_000).max(3_600_000).default(20_000),
    /** How long to wait for one sensor's answer. */
    response_timeout_ms: z.number().int().min(50).max(30_000).default(1_500),
    /** A line that grows past this without its terminator is discarded. */
    max_buffer_bytes: z.number().int().min(256).max(1_048_576).default(4_096),
  })
  .strict();
export type Ss105Config = z.infer<typeof Ss105ConfigSchema>;
