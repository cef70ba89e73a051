import { z } from 'zod';

const FieldPath = z.string().regex(/^[A-Za-z0-9_$-]+(\.[A-Za-z0-9_$-]+)*$/, 'a dotted field path such as counts.volume');

/**
 * Where each value sits in the camera's JSON. The defaults read WacoFlow's own counts format (docs in the
 * README); other vendors' outputs are mapped by changing these paths and units, not code.
 */
export const CameraMappingSchema = z
  .object({
    /** Path to the array of count records ('' when the document is the array itself). */
    records: z.union([FieldPath, z.literal('')]).default('bins'),
    start: FieldPath.default('start'),
    /** Optional: without it a record covers interval_ms from its start. */
    end: FieldPath.optional(),
    time_format: z.enum(['iso8601', 'epoch_s', 'epoch_ms']).default('iso8601'),
    approach: FieldPath.default('approach'),
    /** Optional: records without a movement are counted per approach. */
    movement: FieldPath.optional().default('movement'),
    volume: FieldPath.default('volume'),
    speed: FieldPath.optional().default('speed_kmh'),
    speed_unit: z.enum(['kmh', 'mph']).default('kmh'),
    /** A speed value that means "none" (GRIDSMART writes -1). */
    speed_missing: z.number().nullable().default(-1),
    occupancy: FieldPath.optional().default('occupancy_pct'),
    /** percent: 0–100; seconds: seconds occupied within the record's interval. */
    occupancy_unit: z.enum(['percent', 'seconds']).default('percent'),
    queue: FieldPath.optional().default('queue_veh'),
  })
  .strict()
  .prefault({});

export const CameraHttpConfigSchema = z
  .object({
    driver: z.literal('camera-http'),
    name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'letters, digits, . _ - only').max(64),
    url: z.url({ protocol: /^https?$/ }),
    /** Extra request headers (vendor API keys, GRIDSMART's required User-Agent). */
    headers: z.record(z.string(), z.string()).default({}),
    poll_interval_ms: z.number().int().min(1_000).max(3_600_000).default(20_000),
    /** The camera's count interval. */
    interval_ms: z.number().int().min(1_000).max(3_600_000).default(60_000),
    /** Station id per approach: {approach} is replaced by the record's approach (N, S, E, W …). */
    station_template: z.string().includes('{approach}', { message: 'must contain {approach}' }).max(64),
    mapping: CameraMappingSchema,
    max_response_bytes: z.number().int().min(1_024).max(64 * 1024 * 1024).default(4 * 1024 * 1024),
  })
  .strict();
export type CameraHttpConfig = z.infer<typeof CameraHttpConfigSchema>;
export type CameraMapping = z.infer<typeof CameraMappingSchema>;
