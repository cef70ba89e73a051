/**
 * Parsers for the real series in data/real/ (see data/real/SOURCES.md), and the resampling onto 5-minute
 * windows. Pure: text in, points out; the script and the test read the files.
 *
 * The NAB MnDOT files are point readings at irregular times (usually 5 minutes apart, but 10–30 minute holes,
 * gaps of days and one duplicated timestamp). Resampling is honest rather than smooth: each reading goes to the
 * epoch-aligned 5-minute window that contains it (protocol/time.ts), a window with several readings gets their
 * mean, and a window with none stays missing. Nothing is interpolated, so a model never sees a value that was
 * not measured. America/Chicago's offsets are whole hours, so UTC-aligned windows are local-aligned too.
 */
import { alignDown } from '../../protocol/time.ts';
import { zoneOffsetMinutes } from '../../platform/time-zones.ts';

export const WINDOW_MS = 300_000;
export const HOUR_MS = 3_600_000;

export interface Point {
  t_ms: number;
  value: number;
}

/**
 * A local wall-clock time `YYYY-MM-DD HH:MM:SS` in `time_zone` as UTC epoch ms. Two passes find the offset in
 * force at that instant. An hour that happens twice (autumn) resolves to one of its two instants; an hour that
 * never happens (spring) lands an hour off. Both are noted where they matter.
 */
export function localToEpochMs(text: string, time_zone: string): number {
  const m = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})/.exec(text.trim());
  if (!m) throw new Error(`not a local timestamp: ${JSON.stringify(text)}`);
  const asUtc = Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!);
  const first = asUtc - zoneOffsetMinutes(asUtc, time_zone) * 60_000;
  return asUtc - zoneOffsetMinutes(first, time_zone) * 60_000;
}

/** NAB's `timestamp,value` CSV (no final newline) as points in file order. */
export function parseNabCsv(text: string, time_zone: string): Point[] {
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '');
  if (lines[0]?.trim() !== 'timestamp,value') throw new Error('expected the header timestamp,value');
  return lines.slice(1).map((line) => {
    const [ts, v] = line.split(',');
    const value = Number(v);
    if (ts === undefined || !Number.isFinite(value)) throw new Error(`bad row: ${line}`);
    return { t_ms: localToEpochMs(ts, time_zone), value };
  });
}

export interface Resampled {
  /** One point per window that had at least one reading, in time order; `t_ms` is the window start. */
  windows: Point[];
  readings: number;
  /** Windows that received more than one reading (and so hold their mean). */
  merged_windows: number;
}

export function resample(points: readonly Point[], width_ms: number = WINDOW_MS): Resampled {
  const acc = new Map<number, { sum: number; n: number }>();
  for (const p of points) {
    const w = alignDown(p.t_ms, width_ms);
    const a = acc.get(w) ?? { sum: 0, n: 0 };
    a.sum += p.value;
    a.n += 1;
    acc.set(w, a);
  }
  const windows = [...acc.entries()].sort((a, b) => a[0] - b[0]).map(([t_ms, a]) => ({ t_ms, value: a.sum / a.n }));
  let merged_windows = 0;
  for (const a of acc.values()) if (a.n > 1) merged_windows += 1;
  return { windows, readings: points.length, merged_windows };
}

/** NAB's labelled anomaly windows for one file, as [start, end] epoch ms. */
export function nabLabels(windowsJson: unknown, file: string, time_zone: string): Array<[number, number]> {
  const all = windowsJson as Record<string, Array<[string, string]>>;
  const list = all[`realTraffic/${file}`];
  if (!list) throw new Error(`no labels for realTraffic/${file}`);
  return list.map(([a, b]) => [localToEpochMs(a, time_zone), localToEpochMs(b, time_zone)]);
}

export interface I94 {
  points: Point[];
  rows: number;
  duplicate_rows: number;
}

/**
 * The UCI Metro Interstate CSV: one row per hour and weather condition, so an hour can repeat with the same
 * volume. The first row of an hour is kept. `date_time` is the 8th column, `traffic_volume` the 9th; no field
 * before them contains a comma.
 */
export function parseI94Csv(text: string, time_zone: string): I94 {
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '');
  const header = lines[0]?.split(',') ?? [];
  if (header[7] !== 'date_time' || header[8]?.trim() !== 'traffic_volume') throw new Error('unexpected I-94 header');
  const byHour = new Map<number, number>();
  let duplicate_rows = 0;
  for (const line of lines.slice(1)) {
    const f = line.split(',');
    const t_ms = localToEpochMs(f[7]!, time_zone);
    if (byHour.has(t_ms)) {
      duplicate_rows += 1;
      continue;
    }
    byHour.set(t_ms, Number(f[8]));
  }
  const points = [...byHour.entries()].sort((a, b) => a[0] - b[0]).map(([t_ms, value]) => ({ t_ms, value }));
  return { points, rows: lines.length - 1, duplicate_rows };
}

/** One 15-minute row of a WebTRIS report: its end, the vehicles counted, their speed histogram and mean. */
export interface WebtrisRow {
  end_ms: number;
  volume: number;
  /** Vehicles per speed bin, in the file's order (0–10 mph … 80+ mph). */
  speed_bins: number[];
  /** The report's own mean speed, mph; null when nothing passed (`NA`). */
  avg_mph: number | null;
}

/** The speed bins' bounds in mph, as the header names them; the open-ended 80+ bin is closed at 90 here. */
export const WEBTRIS_SPEED_BINS_MPH: ReadonlyArray<readonly [number, number]> = [
  [0, 10], [11, 15], [16, 20], [21, 25], [26, 30], [31, 35], [36, 40], [41, 45], [46, 50], [51, 55], [56, 60], [61, 70], [71, 80], [81, 90],
];

/**
 * A National Highways WebTRIS daily report (data/real/webtris-a64/): a header row, then one row per 15 minutes.
 * Columns are found by name; `Report Date` plus `Time Period Ending` is local UK time. Every row is checked:
 * the speed bins must add up to `Total Volume`.
 */
export function parseWebtrisCsv(text: string, time_zone: string): WebtrisRow[] {
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '');
  const header = lines[0]?.split(',') ?? [];
  const col = (name: string): number => {
    const i = header.indexOf(name);
    if (i < 0) throw new Error(`WebTRIS header has no "${name}" column`);
    return i;
  };
  const [date, end, avg, total, firstBin] = [col('Report Date'), col('Time Period Ending'), col('Avg mph'), col('Total Volume'), col('0 - 10 mph')];
  return lines.slice(1).map((line, i) => {
    const f = line.split(',');
    const speed_bins = WEBTRIS_SPEED_BINS_MPH.map((_, k) => Number(f[firstBin + k]));
    const volume = Number(f[total]);
    if (speed_bins.reduce((a, b) => a + b, 0) !== volume) throw new Error(`WebTRIS row ${i + 2}: speed bins do not add up to Total Volume ${volume}`);
    const local = `${f[date]!.slice(0, 10)} ${f[end]!}`;
    // "Time Period Ending" is the last minute of the interval (00:14 for 00:00–00:15).
    return { end_ms: localToEpochMs(local, time_zone) + 60_000, volume, speed_bins, avg_mph: f[avg] === 'NA' ? null : Number(f[avg]) };
  });
}
