import { z } from 'zod';

/** Identifiers travel in MQTT topics and Kafka keys: no separators, wildcards or whitespace. */
export const Id = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._:-]*$/, 'must start with a letter or digit and use only letters, digits and . _ : -');

/** UTC epoch milliseconds, an integer. */
export const EpochMs = z.number().int().min(0).max(8_640_000_000_000);
export const DurationMs = z.number().int().positive().max(86_400_000);
export const Count = z.number().int().min(0);
/** A finite number: zod 4's numbers refuse Infinity and NaN themselves (JSON's 1e400 parses to Infinity). */
export const Finite = z.number();

export const ClockState = z.object({
  /** Whether the agent's clock was synchronised (NTP/chrony) when the timestamps were taken. */
  synced: z.boolean(),
  /** The offset the agent believed its clock had from true time (ms, positive = ahead). */
  offset_ms: z.number().int(),
});
export type ClockState = z.infer<typeof ClockState>;

export const MeasuresSchema = z.object({
  volume: Count.nullable(),
  occupied_ms: Finite.min(0),
  occupancy_observed_ms: Finite.min(0),
  speed_weight: Count,
  speed_sum: Finite.min(0),
  speed_inverse_sum: Finite.min(0),
  speed_min_kmh: Finite.min(0).nullable(),
  speed_max_kmh: Finite.min(0).nullable(),
  samples_seen: Count,
  samples_expected: Count,
  /** Longest queue reported in the covered time (vehicles); absent where no source reports queues. */
  queue_max_veh: Count.nullable().optional(),
});
