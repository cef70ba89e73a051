/**
 * TMDD `detectorDataMsg` → samples: pure, no I/O. Accepts v3.0 (`detector-list`) and v3.03/3.1
 * (`detector-data-list`) in either namespace, matching on local names and ignoring unknown children and
 * `xsi:type` extensions. Units come from the feed's configuration and are converted here, once.
 *
 * Per detail: `station-id` (falls back to `detector-id`), the interval from `start-time`/`end-time` (or the
 * detection time stamp and the configured cadence), `vehicle-count` (missing = no data, never 0),
 * `vehicle-occupancy`, `vehicle-speed`, and `detector-status` (or the `device-status` some agencies use).
 * Sentinels are dropped and counted by reason: speed 255, count > 10000 (CHARM writes 99999), occupancy > 100.
 */
import { XMLParser } from 'fast-xml-parser';
import { tryDecode, type DetectorStatus, type Sample } from '../../../protocol/index.ts';
import { ERR, WacoflowError } from '../../../platform/errors.ts';
import { parseDateTimeZone, type DateTimeZone } from './time.ts';

export interface TmddParseOptions {
  time_zone: string;
  speed_unit: 'kmh' | 'mph';
  /** The feed's collection interval, used when a detail has no start-time/end-time. */
  sample_interval_ms: number;
}

export interface ParseResult {
  samples: Sample[];
  /** Values or whole details dropped, by reason. */
  dropped: Record<string, number>;
}

const KMH_PER_MPH = 1.609344;
const SPEED_UNKNOWN = 255;
const MAX_COUNT = 10_000;

const parser = new XMLParser({
  removeNSPrefix: true,
  ignoreAttributes: true,
  parseTagValue: false,
  trimValues: true,
  isArray: (name) => name === 'detector-data-item' || name === 'detector-data-detail',
});

const STATUS_WORDS: Record<string, DetectorStatus> = {
  on: 'ok', operational: 'ok', off: 'off', 'out of service': 'failed', failed: 'failed',
  unavailable: 'unknown', unknown: 'unknown', marginal: 'degraded', other: 'unknown',
};
/** TMDD's numeric codes, in the enumeration's order (1 = on … 8 = other). */
const STATUS_CODES: DetectorStatus[] = ['ok', 'off', 'failed', 'unknown', 'unknown', 'degraded', 'failed', 'unknown'];

function statusOf(v: unknown): DetectorStatus {
  if (v === undefined || v === null || v === '') return 'unknown';
  const s = String(v).trim().toLowerCase();
  if (/^\d+$/.test(s)) return STATUS_CODES[Number(s) - 1] ?? 'unknown';
  return STATUS_WORDS[s] ?? 'unknown';
}

function numberOf(v: unknown): number | null {
  if (v === undefined || v === null || String(v).trim() === '') return null;
  const n = Number(String(v).trim());
  return Number.isFinite(n) ? n : NaN;
}

export function parseDetectorData(xml: string, o: TmddParseOptions): ParseResult {
  if (xml.trim() === '') throw new WacoflowError(ERR.FEED_PARSE, 'empty document: expected a TMDD detectorDataMsg');
  let doc: Record<string, unknown>;
  try {
    doc = parser.parse(xml, true) as Record<string, unknown>;
  } catch (err) {
    throw new WacoflowError(ERR.FEED_PARSE, `not well-formed XML: ${(err as Error).message}`, { cause: err });
  }
  const root = doc.detectorDataMsg as { 'detector-data-item'?: Record<string, unknown>[] } | undefined;
  if (!root || typeof root !== 'object') {
    const found = Object.keys(doc).filter((k) => k !== '?xml').join(', ') || 'nothing';
    throw new WacoflowError(ERR.FEED_PARSE, `expected a TMDD detectorDataMsg root element, found ${found}`);
  }
  const dropped: Record<string, number> = {};
  const drop = (reason: string): void => {
    dropped[reason] = (dropped[reason] ?? 0) + 1;
  };
  const samples: Sample[] = [];

  for (const item of root['detector-data-item'] ?? []) {
    const list = (item['detector-data-list'] ?? item['detector-list']) as { 'detector-data-detail'?: Record<string, unknown>[] } | undefined;
    for (const d of list?.['detector-data-detail'] ?? []) {
      const detector_id = String(d['detector-id'] ?? '').trim();
      if (!detector_id) {
        drop('missing_detector_id');
        continue;
      }
      const station_id = String(d['station-id'] ?? '').trim() || detector_id;

      let start_ms: number | string;
      let end_ms: number | string;
      if (d['start-time']) {
        start_ms = parseDateTimeZone(d['start-time'] as DateTimeZone, o.time_zone);
        end_ms = d['end-time'] ? parseDateTimeZone(d['end-time'] as DateTimeZone, o.time_zone) : NaN;
        if (typeof start_ms === 'number' && (typeof end_ms !== 'number' || Number.isNaN(end_ms))) end_ms = start_ms + o.sample_interval_ms;
      } else {
        end_ms = parseDateTimeZone((d['detection-time-stamp'] ?? {}) as DateTimeZone, o.time_zone);
        start_ms = typeof end_ms === 'number' ? end_ms - o.sample_interval_ms : end_ms;
      }
      if (typeof start_ms !== 'number' || typeof end_ms !== 'number' || end_ms <= start_ms) {
        drop('bad_time');
        continue;
      }

      let volume = numberOf(d['vehicle-count']);
      if (volume !== null && (Number.isNaN(volume) || volume < 0 || !Number.isInteger(volume) || volume > MAX_COUNT)) {
        drop('count_sentinel');
        volume = null;
      }
      let occupancy_pct = numberOf(d['vehicle-occupancy']);
      if (occupancy_pct !== null && (Number.isNaN(occupancy_pct) || occupancy_pct < 0 || occupancy_pct > 100)) {
        drop('occupancy_sentinel');
        occupancy_pct = null;
      }
      let speed_kmh = numberOf(d['vehicle-speed']);
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
        detector_id,
        station_id,
        start_ms,
        duration_ms: end_ms - start_ms,
        volume,
        occupancy_pct,
        speed_kmh,
        status: statusOf(d['detector-status'] ?? d['device-status']),
      });
      if (sample.ok) samples.push(sample.value);
      else drop(`invalid_${sample.error.field.replace(/[^a-z_]/g, '') || 'sample'}`);
    }
  }
  return { samples, dropped };
}
