/**
 * What the anomaly and forecast cores read from a window: the operator-facing figures of a `WindowResult`
 * (protocol/v1/window.ts), nulls allowed. Central feeds station or detector windows; tests and the evaluation
 * feed resampled real series through the same shape.
 */
export interface WindowInput {
  key: string;
  /** Start of the 5-minute window, UTC epoch ms (epoch-aligned, protocol/time.ts). */
  window_start_ms: number;
  speed_kmh: number | null;
  occupancy_pct: number | null;
  volume: number | null;
  /** Samples seen ÷ samples expected, 0–1 (protocol/measures.ts `Summary`). */
  observed_fraction: number;
  /** Lanes the window covers: 1 for a detector window. Only the chatter rule reads it; absent means 1. */
  lanes?: number;
}

export type TrafficMeasure = 'speed_kmh' | 'occupancy_pct' | 'volume';
export const TRAFFIC_MEASURES: readonly TrafficMeasure[] = ['speed_kmh', 'occupancy_pct', 'volume'];

export type Direction = 'low' | 'high';
