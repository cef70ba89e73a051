import { describe, expect, it } from 'vitest';
import type { WindowInput } from '../anomaly/types.ts';
import { StationForecaster, defaultForecastOptions } from './station.ts';

const TZ = 'America/Chicago';
const W = 300_000;
const WEEK = 7 * 86_400_000;
const MON = Date.UTC(2015, 8, 7, 5);
const win = (t: number, speed: number | null, occ: number | null, key = 'st1'): WindowInput => ({
  key, window_start_ms: t, speed_kmh: speed, occupancy_pct: occ, volume: 30, observed_fraction: 1,
});

/** Two weeks of a flat 100 km/h, 8 % day: the profile is flat, so the forecast is 100 + φ·deviation. */
function trained(): StationForecaster {
  const f = new StationForecaster(defaultForecastOptions(TZ));
  for (let i = 0; i < (2 * WEEK) / W; i++) f.push(win(MON + i * W, 100, 8));
  return f;
}

describe('StationForecaster', () => {
  it('forecasts 15, 30 and 60 minutes ahead with the congestion level they imply', () => {
    const f = trained();
    const fc = f.forecast('st1', 113)!;
    expect(fc.issued_window_start_ms).toBe(MON + 2 * WEEK - W);
    const round = (x: number | null) => (x === null ? null : Math.round(x * 1e6) / 1e6);
    expect(fc.horizons.map((h) => [h.horizon_min, h.target_window_start_ms - fc.issued_window_start_ms, round(h.speed_kmh), round(h.occupancy_pct), h.congestion])).toEqual([
      [15, 15 * 60_000, 100, 8, 'clear'],
      [30, 30 * 60_000, 100, 8, 'clear'],
      [60, 60 * 60_000, 100, 8, 'clear'],
    ]);
  });

  it('carries part of a slowdown forward, less of it the further ahead, each with its interval', () => {
    const f = trained();
    for (const [i, speed, occ] of [[0, 40, 40], [1, 38, 42], [2, 41, 41]] as const) f.push(win(MON + 2 * WEEK + i * W, speed, occ));
    const [h15, h30, h60] = f.forecast('st1', 113)!.horizons;
    // Between the slowdown and the usual 100 km/h, and nearer the usual value the further ahead.
    expect(h15!.speed_kmh!).toBeGreaterThan(41);
    expect(h15!.speed_kmh!).toBeLessThan(h30!.speed_kmh!);
    expect(h30!.speed_kmh!).toBeLessThan(h60!.speed_kmh!);
    expect(h60!.speed_kmh!).toBeLessThan(100);
    expect(h15!.congestion).not.toBe('clear');
    // Two weeks of perfect forecasts: the interval is the forecast itself until errors are seen.
    for (const h of [h15!, h30!, h60!]) {
      expect(h.speed_interval!.low).toBeCloseTo(h.speed_kmh!, 6);
      expect(h.speed_interval!.high).toBeCloseTo(h.speed_kmh!, 6);
      expect(h.occupancy_interval!.low).toBeCloseTo(h.occupancy_pct!, 6);
    }
  });

  it('ignores late and repeated windows', () => {
    const f = trained();
    const before = f.forecast('st1', 113);
    f.push(win(MON, 10, 90));
    f.push(win(MON + 2 * WEEK - W, 10, 90));
    expect(f.forecast('st1', 113)).toEqual(before);
  });

  it('returns null for an unknown key and unknown congestion when nothing is known', () => {
    const f = new StationForecaster(defaultForecastOptions(TZ));
    expect(f.forecast('nope', 113)).toBeNull();
    f.push(win(MON, null, null));
    expect(f.forecast('st1', 113)!.horizons[0]).toMatchObject({ speed_kmh: null, occupancy_pct: null, congestion: 'unknown' });
  });

  it('rejects a horizon that is not a whole number of steps', () => {
    expect(() => new StationForecaster({ ...defaultForecastOptions(TZ), horizons_min: [7] })).toThrow(RangeError);
  });
});
