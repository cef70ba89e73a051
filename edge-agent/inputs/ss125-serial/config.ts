import { z } from 'zod';
import { SerialLineSchema } from '../serial/link.ts';

export const Ss125ConfigSchema = z
  .object({
    driver: z.literal('ss125-serial'),
    name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'letters, digits, . _ - only').max(64),
    line: SerialLineSchema,
    /** push: the sensors send each interval unsolicited (interval push enabled); poll: ask each drop in turn. */
    mode: z.enum(['push', 'poll']).default('push'),
    /** Sensors on the line: id 1–65534 and the station each one watches. */
    drops: z
      .array(z.object({ drop: z.number().int().min(1).max(65_534), station_id: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._:-]*$/).max(48) }).strict())
      .min(1),
    interval_ms: z.number().int().min(10_000).max(3_600_000).default(20_000),
    /** The sensor's metric flag (general config byte 85) decides; say which it is set to. */
    speed_unit: z.enum(['mph', 'kmh']).default('mph'),
    /** Whether the interval timestamp marks the interval's end (the default) or its start. */
    timestamp_marks: z.enum(['end', 'start']).default('end'),
    poll_interval_ms: z.number().int().min(1_000).max(3_600_000).default(20_000),
    response_timeout_ms: z.number().int().min(50).max(30_000).default(1_500),
    max_buffer_bytes: z.number().int().min(256).max(1_048_576).default(4_096),
  })
  .strict();
export type Ss125Config = z.infer<typeof Ss125ConfigSchema>;
