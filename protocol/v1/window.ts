import { z } from 'zod';
import { Count, EpochMs, Id, MeasuresSchema } from './common.ts';

export const WindowLevel = z.enum(['detector', 'station', 'corridor']);
export type WindowLevel = z.infer<typeof WindowLevel>;

/** provisional while bins arrive; final once the wall clock passes end + grace; revised when a late bin lands. */
export const WindowState = z.enum(['provisional', 'final', 'revised']);
export type WindowState = z.infer<typeof WindowState>;

export const Congestion = z.enum(['clear', 'light', 'moderate', 'severe', 'unknown']);
export type Congestion = z.infer<typeof Congestion>;

export const LevelOfService = z.enum(['A', 'B', 'C', 'D', 'E', 'F']);
export type LevelOfService = z.infer<typeof LevelOfService>;

/** A central window result, as stored and as published on `wacoflow.windows.v1`. */
export const WindowResultSchema = z.object({
  v: z.literal(1),
  level: WindowLevel,
  key: Id,
  window_start_ms: EpochMs,
  window_end_ms: EpochMs,
  revision: Count,
  state: WindowState,
  /** `no_data` when nothing was observed: an offline detector, never a quiet road. */
  status: z.enum(['ok', 'no_data']),
  volume: Count.nullable(),
  occupancy_pct: z.number().min(0).max(100).nullable(),
  speed_kmh: z.number().min(0).nullable(),
  speed_min_kmh: z.number().min(0).nullable(),
  speed_max_kmh: z.number().min(0).nullable(),
  observed_fraction: z.number().min(0).max(1),
  congestion: Congestion,
  los: LevelOfService.nullable(),
  /** True when any bin in the window came from an agent whose clock was not synchronised. */
  clock_untrusted: z.boolean(),
  measures: MeasuresSchema,
});
export type WindowResult = z.infer<typeof WindowResultSchema>;

/**
 * A record of the windows topic (header `type: window_batch`): the results one commit wrote under one key
 * (a station's detector windows and its own, or a corridor's), in the order they were written.
 */
export const WindowBatchSchema = z.object({
  v: z.literal(1),
  windows: z.array(WindowResultSchema).min(1),
});
export type WindowBatch = z.infer<typeof WindowBatchSchema>;
