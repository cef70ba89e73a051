/**
 * Turning one lane's raw fields into a normalised sample, the same way for every feed format: sentinels dropped
 * and counted, units converted once, a missing count kept as no data unless the feed is known to omit zeros.
 */
import { tryDecode, type DetectorStatus, type Sample } from '../../../protocol/index.ts';

export interface ValueOptions {
  speed_unit: 'kmh' | 'mph';
  /** What an absent count means: no data (the default), or zero for feeds that omit zero counts (Iowa SIMS). */
  missing_count: 'no_data' | 'zero';
}

export interface RawLane {
  detector_id: string;
  station_id: string;
  start_ms: number;
  end_ms: number;
  count: string;
  occupancy: string;
  speed: string;
  status: unknown;
}

const KMH_PER_MPH = 1.609344;
const SPEED_UNKNOWN = 255;
const MAX_COUNT = 10_000;

const STATUS_WORDS: Record<string, DetectorStatus> = {
  on: 'ok', operational: 'ok', off: 'off', 'out of service': 'failed', failed: 'failed',
  unavailable: 'unknown', unknown: 'unknown', marginal: 'degraded', other: 'unknown',
};
/** TMDD's numeric codes, in the enumeration's order (1 = on … 8 = other). NDOT writes 1 for a working lane. */
const STATUS_CODES: DetectorStatus[] = ['ok', 'off', 'failed', 'unknown', 'unknown', 'degraded', 'failed', 'unknown'];

export function statusOf(v: unknown): DetectorStatus {
  const s = v === undefined || v === null ? '' : String(v).trim().toLowerCase();
  if (s === '') return 'unknown';
  if (/^\d+$/.test(s)) return STATUS_CODES[Number(s) - 1] ?? 'unknown';
  return STATUS_WORDS[s] ?? 'unknown';
}

/** Ids travel in topics and keys: anything but letters, digits and . _ : - becomes '_' (Iowa ids are descriptions). */
export function safeId(raw: string): string {
  const id = raw.trim().replace(/[^A-Za-z0-9._:-]+/g, '_').replace(/^[^A-Za-z0-9]+/, '').slice(0, 64);
  return id;
}

function num(v: string): number | null {
  if (v === '') return null;
  const n = Number(v);
  return Number.isFinite(n) ? n : NaN;
}

export function toSample(lane: RawLane, o: ValueOptions, drop: (reason: string) => void): Sample | null {
  let volume = num(lane.count);
  if (volume === null && o.missing_count === 'zero') volume = 0;
  if (volume !== null && (Number.isNaN(volume) || volume < 0 || !Number.isInteger(volume) || volume > MAX_COUNT)) {
    drop('count_sentinel');
    volume = null;
  }
  let occupancy_pct = num(lane.occupancy);
  if (occupancy_pct !== null && (Number.isNaN(occupancy_pct) || occupancy_pct < 0 || occupancy_pct > 100)) {
    drop('occupancy_sentinel');
    occupancy_pct = null;
  }
  let speed_kmh = num(lane.speed);
  if (speed_kmh !== null && (Number.isNaN(speed_kmh) || speed_kmh < 0 || speed_kmh >= SPEED_UNKNOWN)) {
    drop('speed_sentinel');
    speed_kmh = null;
  }
  if (speed_kmh !== null && o.speed_unit === 'mph') speed_kmh *= KMH_PER_MPH;
  if (speed_kmh !== null && speed_kmh > 250) {
    drop('speed_out_of_range');
    speed_kmh = null;
  }
  const sample = tryDecode('sample', {
    detector_id: safeId(lane.detector_id),
    station_id: safeId(lane.station_id),
    start_ms: lane.start_ms,
    duration_ms: lane.end_ms - lane.start_ms,
    volume,
    occupancy_pct,
    speed_kmh,
    status: statusOf(lane.status),
  });
  if (sample.ok) return sample.value;
  drop(`invalid_${sample.error.field.replace(/[^a-z_]/g, '') || 'sample'}`);
  return null;
}
