/**
 * What one real day of WebTRIS counts tests (data/real/webtris-a64/, National Highways site 6867 on the A64,
 * 2021-05-01): it has volumes and a speed histogram, which the MnDOT files lack.
 *
 * - The speed measure. WacoFlow's speed is count-weighted (the time-mean speed, protocol/measures.ts). The
 *   report gives each interval's mean and its histogram; the count-weighted mean of the bins' midpoints must
 *   agree with the report's mean to within the bins' resolution (5 mph), or the report's mean is another kind.
 * - The detector-health rules on real volumes. Each 15-minute count is split evenly over three 5-minute windows
 *   (the rules judge 5-minute windows; the split keeps the total), with the report's mean speed, one lane.
 *   One day gives no time-of-week history, so `no_hits` has no usual volume to judge against and stays silent.
 *
 * Too short for forecasts: with no profile every model falls back to persistence.
 */
import { DetectorHealthMonitor, defaultHealthOptions } from '../../central/anomaly/detector-health.ts';
import { WEBTRIS_SPEED_BINS_MPH, type WebtrisRow } from './load.ts';

const KMH_PER_MPH = 1.609344;
const FIVE_MIN = 300_000;

export interface WebtrisEvaluation {
  site: string;
  intervals: number;
  vehicles: number;
  /** |report mean − count-weighted histogram mean|, mph, over intervals with vehicles: median and largest. */
  speed_gap_mph: { median: number; max: number; intervals: number };
  windows: number;
  health_opened: Record<string, number>;
}

export function evaluateWebtris(site: string, rows: readonly WebtrisRow[], time_zone: string): WebtrisEvaluation {
  const gaps = rows
    .filter((r) => r.volume > 0 && r.avg_mph !== null)
    .map((r) => {
      const mean = r.speed_bins.reduce((a, n, k) => a + n * (WEBTRIS_SPEED_BINS_MPH[k]![0] + WEBTRIS_SPEED_BINS_MPH[k]![1]) / 2, 0) / r.volume;
      return Math.abs(mean - r.avg_mph!);
    })
    .sort((a, b) => a - b);

  const monitor = new DetectorHealthMonitor(defaultHealthOptions(time_zone));
  const health_opened: Record<string, number> = {};
  let windows = 0;
  for (const r of rows) {
    const start = r.end_ms - 3 * FIVE_MIN;
    for (let k = 0; k < 3; k++) {
      // An even split that keeps the total: 161 → 54, 54, 53.
      const volume = Math.floor(r.volume / 3) + (k < r.volume % 3 ? 1 : 0);
      const speed_kmh = r.avg_mph === null ? null : r.avg_mph * KMH_PER_MPH;
      const w = { key: site, window_start_ms: start + k * FIVE_MIN, speed_kmh, occupancy_pct: null, volume, observed_fraction: 1, lanes: 1 };
      for (const e of monitor.push(w)) if (e.kind === 'open') health_opened[e.rule] = (health_opened[e.rule] ?? 0) + 1;
      windows += 1;
    }
  }
  return {
    site,
    intervals: rows.length,
    vehicles: rows.reduce((a, r) => a + r.volume, 0),
    speed_gap_mph: { median: gaps[Math.floor((gaps.length - 1) / 2)] ?? Number.NaN, max: gaps[gaps.length - 1] ?? Number.NaN, intervals: gaps.length },
    windows,
    health_opened,
  };
}
