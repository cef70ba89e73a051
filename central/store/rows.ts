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

/** A bin as the rolling view reads it back from recent_bins. */
export interface RecentBin {
  detector_id: string;
  bin_start_ms: number;
  bin_ms: number;
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
