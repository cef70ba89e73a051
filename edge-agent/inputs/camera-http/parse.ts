/**
 * Camera count records (JSON) → samples, through the configured field mapping: pure, no I/O. One detector per
 * approach and movement (`<station>-<movement>`), one station per approach. Speed converted once, occupancy
 * seconds turned into percent of the record's interval, "none" markers (-1) dropped and counted.
 */
import { tryDecode, type Sample } from '../../../protocol/index.ts';
import { ERR, WacoflowError } from '../../../platform/errors.ts';
import { safeId } from '../tmdd-http/values.ts';
import type { CameraMapping } from './config.ts';

export interface CameraParseOptions {
  mapping: CameraMapping;
  station_template: string;
  interval_ms: number;
}

const KMH_PER_MPH = 1.609344;

function at(obj: unknown, path: string | undefined): unknown {
  if (!path) return undefined;
  let v: unknown = obj;
  for (const k of path.split('.')) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string, unknown>)[k];
  }
  return v;
}

function time(v: unknown, format: CameraMapping['time_format']): number | null {
  if (format === 'iso8601') {
    if (typeof v !== 'string' || !/[zZ]|[+-]\d{2}:?\d{2}$/.test(v)) return null; // a time without a zone is ambiguous
    const t = Date.parse(v);
    return Number.isFinite(t) ? t : null;
  }
  const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
  if (!Number.isFinite(n)) return null;
  return Math.round(format === 'epoch_s' ? n * 1000 : n);
}

function num(v: unknown): number | null {
  if (v === undefined || v === null || v === '') return null;
  const n = typeof v === 'number' ? v : Number(v);
  return Number.isFinite(n) ? n : NaN;
}

export function parseCameraCounts(body: unknown, o: CameraParseOptions): { samples: Sample[]; dropped: Record<string, number> } {
  const m = o.mapping;
  const records = m.records === '' ? body : at(body, m.records);
  if (!Array.isArray(records)) throw new WacoflowError(ERR.FEED_PARSE, `expected an array of count records at "${m.records || '(document)'}"`);
  const dropped: Record<string, number> = {};
  const drop = (r: string): void => {
    dropped[r] = (dropped[r] ?? 0) + 1;
  };
  const samples: Sample[] = [];
  for (const r of records) {
    const start = time(at(r, m.start), m.time_format);
    const end = m.end ? time(at(r, m.end), m.time_format) : start === null ? null : start + o.interval_ms;
    if (start === null || end === null || end <= start) {
      drop('bad_time');
      continue;
    }
    const approach = String(at(r, m.approach) ?? '').trim();
    if (!approach) {
      drop('missing_approach');
      continue;
    }
    const movement = String(at(r, m.movement) ?? '').trim() || 'all';
    const station_id = safeId(o.station_template.replaceAll('{approach}', approach));

    let volume = num(at(r, m.volume));
    if (volume !== null && (Number.isNaN(volume) || volume < 0 || !Number.isInteger(volume) || volume > 10_000)) {
      drop('count_sentinel');
      volume = null;
    }
    let speed = num(at(r, m.speed));
    if (speed !== null && (Number.isNaN(speed) || speed === m.speed_missing || speed < 0)) {
      if (speed !== m.speed_missing) drop('speed_sentinel');
      speed = null;
    }
    if (speed !== null && m.speed_unit === 'mph') speed *= KMH_PER_MPH;
    if (speed !== null && speed > 250) {
      drop('speed_out_of_range');
      speed = null;
    }
    let occupancy = num(at(r, m.occupancy));
    if (occupancy !== null && m.occupancy_unit === 'seconds' && !Number.isNaN(occupancy)) occupancy = (100 * occupancy * 1000) / (end - start);
    if (occupancy !== null && (Number.isNaN(occupancy) || occupancy < 0 || occupancy > 100)) {
      drop('occupancy_sentinel');
      occupancy = null;
    }
    let queue = num(at(r, m.queue));
    if (queue !== null && (Number.isNaN(queue) || queue < 0 || !Number.isInteger(queue))) {
      drop('queue_sentinel');
      queue = null;
    }
    const s = tryDecode('sample', {
      detector_id: safeId(`${station_id}-${movement}`),
      station_id,
      start_ms: start,
      duration_ms: end - start,
      volume,
      occupancy_pct: occupancy,
      speed_kmh: speed,
      queue_veh: queue,
      status: 'ok',
    });
    if (s.ok) samples.push(s.value);
    else drop(`invalid_${s.error.field || 'sample'}`);
  }
  return { samples, dropped };
}
