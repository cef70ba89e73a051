import { z } from 'zod';
import { DurationMs, EpochMs, Id } from './common.ts';

/** The detector-health reading a source gave with the sample, mapped onto one enum by the driver. */
export const DetectorStatus = z.enum(['ok', 'degraded', 'failed', 'off', 'unknown']);
export type DetectorStatus = z.infer<typeof DetectorStatus>;

/**
 * One normalised reading of one detector (usually one lane) over `[start_ms, start_ms + duration_ms)`.
 * Units are fixed (ARCHITECTURE.md): vehicles in the interval, percent 0–100, km/h. Null means the source
 * gave no value; sentinels never get this far (drivers drop and count them).
 */
export const SampleSchema = z.object({
  detector_id: Id,
  station_id: Id,
  start_ms: EpochMs,
  duration_ms: DurationMs,
  volume: z.number().int().min(0).max(10_000).nullable(),
  occupancy_pct: z.number().min(0).max(100).nullable(),
  speed_kmh: z.number().min(0).max(250).nullable(),
  /** Vehicles queued at the end of the interval (intersection cameras); absent where the source has none. */
  queue_veh: z.number().int().min(0).max(10_000).nullable().optional(),
  status: DetectorStatus,
});
export type Sample = z.infer<typeof SampleSchema>;
