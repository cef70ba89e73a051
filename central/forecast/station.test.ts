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
    expect(fc.horizons.map((h) => [h.horizon_min, h.target_window_start_ms - fc.issued_window_start_ms, h.speed_kmh, h.occupancy_pct, h.congestion])).toEqual([
      [15, 15 * 60_000, 100, 8, 'clear'],
      [30, 30 * 60_000, 100, 8, 'clear'],
      [60, 60 * 60_000, 100, 8, 'clear'],
    ]);
  });

  it('carries a slowdown forward by the prior decay until the fit has pairs, then by the fit', () => {
    const f = trained();
    f.push(win(MON + 2 * WEEK, 40, 40));
    const h15 = f.forecast('st1', 113)!.horizons[0]!;
    const phi = f.phi('st1', 'speed_kmh', 15)!;
    expect(h15.speed_kmh).toBeCloseTo(100 + phi * (40 - 100), 9);
    // a flat history has no deviations to fit: the prior 0.5 holds, so 70 km/h (0.62 of 113) and 24 % occupancy
    expect(phi).toBe(0.5);
    expect(h15.congestion).toBe('moderate');
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
