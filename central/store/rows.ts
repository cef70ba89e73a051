/**
 * The rows central's tables hold, as the store reads and writes them: shared by the store and the analytics
 * store, which both read windows, without either importing the other.
 */
import type { Heartbeat, Measures, WindowLevel, WindowState } from '../../protocol/index.ts';

export interface WindowRow {
  level: WindowLevel;
  key: string;
  window_start_ms: number;
  window_end_ms: number;
  revision: number;
  state: WindowState;
  clock_untrusted: boolean;
  measures: Measures;
  updated_ms: number;
}

/**
 * A bin as recent_bins keeps it for the rolling view: its measures flattened beside its detector and time, so
 * the refresh reads every field with one parse per bin (json_to_recordset) and sums them in PostgreSQL.
 */
export type RecentBin = { detector_id: string; bin_start_ms: number; bin_ms: number } & Measures;

/** One detector's bins inside a station's rolling span, summed (AnalyticsStore.refreshRolling). */
export interface RollingPart {
  station_id: string;
  /** The station's event-time progress: the span ends here. */
  end_ms: number;
  /** Every detector of the station, with bins in the span or not. */
  detectors: string[];
  detector_id: string;
  /** Time the detector's bins cover (ms). */
  covered_ms: number;
  measures: Measures;
}

export interface WindowRef {
  level: WindowLevel;
  key: string;
  window_start_ms: number;
}

export const windowRefKey = (w: WindowRef): string => `${w.level}\u0000${w.key}\u0000${w.window_start_ms}`;

export interface DetectorRef {
  detector_id: string;
  station_id: string;
}

export interface DetectorRow {
  detector_id: string;
  station_id: string;
  source: 'inventory' | 'observed';
  first_seen_ms: number | null;
  last_event_ms: number | null;
  /** The device whose bins carried its latest data; null until a bin arrives. */
  device_id: string | null;
}

export interface DeviceRow {
  device_id: string;
  status: 'online' | 'offline' | 'unknown';
  status_ms: number | null;
  last_seen_ms: number;
  last_heartbeat: Heartbeat | null;
}

/** The windows table's columns, in the order every statement names them. */
export const WINDOW_COLUMNS = 'level, key, window_start_ms, window_end_ms, revision, state, clock_untrusted, measures, updated_ms';
