/**
 * The simulator's demand shape by day of week and hour of day, derived from a real detector: MnDOT automatic
 * traffic recorder 301 on I-94 westbound (the UCI "Metro Interstate Traffic Volume" series, hourly volumes
 * 2012–2018, copied with its source and licence in data/real/). Waco and the Twin Cities share a time zone,
 * and an urban interstate's weekly rhythm (weekday commuter peaks, a late and flat weekend) is what the
 * simulated I-35 should have; the level is set per road, only the shape comes from here.
 *
 * How: the first row of each hour (the file repeats an hour once per weather condition), days flagged as
 * holidays left out (the flag sits on the day's midnight row), the mean volume per (weekday, hour) in local
 * time, divided by the largest of those 168 means. `demand-profile.json` holds the result; a test derives it
 * again from the CSV and checks they are equal, so the committed shape cannot drift from its source.
 */
import { readFileSync } from 'node:fs';

export interface DemandProfile {
  source: string;
  /** [weekday 0 = Sunday … 6 = Saturday][hour 0–23], the largest value 1. */
  by_weekday_hour: number[][];
}

export const PROFILE_FILE = new URL('./demand-profile.json', import.meta.url);
export const PROFILE_SOURCE = 'data/real/uci-metro-i94/Metro_Interstate_Traffic_Volume.csv';

/** Derives the profile from the UCI CSV's text. */
export function deriveProfile(csv: string): DemandProfile {
  const lines = csv.split('\n');
  const header = lines[0]!.trim().split(',');
  const col = (name: string): number => {
    const i = header.indexOf(name);
    if (i < 0) throw new Error(`${PROFILE_SOURCE}: no column "${name}" in the header`);
    return i;
  };
  const [holidayCol, timeCol, volumeCol] = [col('holiday'), col('date_time'), col('traffic_volume')];
  const holidays = new Set<string>();
  const hours = new Map<string, number>(); // 'YYYY-MM-DD HH' → volume (first row of the hour)
  for (const line of lines.slice(1)) {
    if (!line.trim()) continue;
    const f = line.split(',');
    const t = f[timeCol]!;
    if (f[holidayCol] !== 'None') holidays.add(t.slice(0, 10));
    const key = t.slice(0, 13);
    if (!hours.has(key)) hours.set(key, Number(f[volumeCol]));
  }
  const sum = Array.from({ length: 7 }, () => new Array<number>(24).fill(0));
  const n = Array.from({ length: 7 }, () => new Array<number>(24).fill(0));
  for (const [key, volume] of hours) {
    const day = key.slice(0, 10);
    if (holidays.has(day) || !Number.isFinite(volume)) continue;
    const weekday = new Date(`${day}T00:00:00Z`).getUTCDay(); // the calendar date's weekday; local times are kept as written
    const hour = Number(key.slice(11, 13));
    sum[weekday]![hour]! += volume;
    n[weekday]![hour]!++;
  }
  const mean = sum.map((row, d) => row.map((s, h) => s / n[d]![h]!));
  const max = Math.max(...mean.flat());
  return { source: PROFILE_SOURCE, by_weekday_hour: mean.map((row) => row.map((v) => Math.round((v / max) * 10_000) / 10_000)) };
}

let cached: DemandProfile | null = null;

/** The committed profile. */
export function demandProfile(): DemandProfile {
  cached ??= JSON.parse(readFileSync(PROFILE_FILE, 'utf8')) as DemandProfile;
  return cached;
}
