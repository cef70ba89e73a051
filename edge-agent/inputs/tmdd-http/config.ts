import { z } from 'zod';
import { isTimeZone } from '../../../platform/time-zones.ts';

export const TmddHttpConfigSchema = z
  .object({
    driver: z.literal('tmdd-http'),
    name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'letters, digits, . _ - only').max(64),
    /** URL of the detectorDataMsg. */
    url: z.url({ protocol: /^https?$/ }),
    poll_interval_ms: z.number().int().min(1_000).max(3_600_000).default(20_000),
    /** The feed's collection interval (TMDD start-time/end-time override it per detail). */
    sample_interval_ms: z.number().int().min(1_000).max(3_600_000).default(20_000),
    /** IANA zone for timestamps that carry no offset. */
    time_zone: z.string().refine(isTimeZone, 'must be an IANA time zone such as America/Chicago').default('America/Chicago'),
    /** TMDD 3.x says km/h; some agencies send mph. */
    speed_unit: z.enum(['kmh', 'mph']).default('kmh'),
    /** What an absent count means: no data, or zero for feeds known to omit zero counts (Iowa SIMS). */
    missing_count: z.enum(['no_data', 'zero']).default('no_data'),
    /** The feed's detectorInventoryMsg, read at start and every inventory_interval_ms: detectors it lists get bins even while silent. */
    inventory_url: z.url({ protocol: /^https?$/ }).optional(),
    inventory_interval_ms: z.number().int().min(60_000).max(7 * 86_400_000).default(3_600_000),
    /** Responses larger than this are refused (a feed gone wrong must not exhaust a board's memory). */
    max_response_bytes: z.number().int().min(1_024).max(256 * 1024 * 1024).default(16 * 1024 * 1024),
  })
  .strict();
export type TmddHttpConfig = z.infer<typeof TmddHttpConfigSchema>;
