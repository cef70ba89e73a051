import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { BaselineOptions } from '../anomaly/baseline.ts';
import { DeviationForecaster, PersistenceForecaster, SeasonalForecaster, type DeviationOptions } from './series.ts';

const H = 3_600_000;
const WEEK = 168 * H;
/** Monday 2015-09-07 00:00 CDT. */
const T0 = Date.UTC(2015, 8, 7, 5);
const hourly: BaselineOptions = { time_zone: 'America/Chicago', slot_ms: H, neighbour_slots: 0, min_history: 2, weeks_kept: 8, day_fallback: false };
const dev = (o: Partial<DeviationOptions> = {}): DeviationForecaster =>
  new DeviationForecaster({ baseline: hourly, horizons_ms: [H, 3 * H], step_ms: H, fit_half_life_ms: 1e15, min_pairs: 10, prior_phi: 0.5, ...o });
/** A daily shape: quiet nights, a peak at 17:00. */
const profile = (i: number): number => 1000 + 800 * Math.max(0, Math.sin(((i % 24) - 5) * (Math.PI / 14)));

describe('PersistenceForecaster', () => {
  it('repeats the last observation at every horizon, null included', () => {
    const p = new PersistenceForecaster();
    expect(p.forecast(H)).toBeNull();
    p.observe(T0, 42);
    expect([p.forecast(H), p.forecast(5 * H)]).toEqual([42, 42]);
    p.observe(T0 + H, null);
    expect(p.forecast(H)).toBeNull();
  });
});

describe('SeasonalForecaster', () => {
  it('forecasts the median of the target hour on earlier weeks, null without history', () => {
    const s = new SeasonalForecaster(hourly);
    s.observe(T0, 1);
    expect(s.forecast(WEEK)).toBeNull(); // one value < min_history
    s.observe(T0 + WEEK, 3);
    s.observe(T0 + 2 * WEEK + 5 * H, 7);
    // issued at Monday 05:00 of week 3, one week ahead minus five hours is Monday 00:00: median(1, 3) = 2
    expect(s.forecast(WEEK - 5 * H)).toBe(2);
  });
});

describe('DeviationForecaster', () => {
  it('falls back to persistence before there is a profile', () => {
    const d = dev();
    d.observe(T0, 500);
    expect(d.forecast(H)).toBe(500);
    expect(() => d.forecast(2 * H)).toThrow(RangeError); // not a configured horizon
  });

  it('forecasts a purely periodic series exactly once it has history', () => {
    const d = dev();
    for (let i = 0; i < 3 * 168; i++) d.observe(T0 + i * H, profile(i));
    expect(d.forecast(H)).toBeCloseTo(profile(3 * 168), 9);
    expect(d.forecast(3 * H)).toBeCloseTo(profile(3 * 168 + 2), 9);
  });

  it('fits the decay of an AR(1) deviation: φ(h) ≈ ρ^h', () => {
    // deterministic pseudo-random noise (a linear congruential generator), deviations d(t) = ρ·d(t−1) + e(t)
    let seed = 12345;
    const rand = (): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) - 0.5;
    const rho = 0.8;
    const d = dev({ min_pairs: 100 });
    let x = 0;
    for (let i = 0; i < 30 * 168; i++) {
      x = rho * x + 100 * rand();
      d.observe(T0 + i * H, profile(i) + x);
    }
    expect(d.phi(H)).toBeGreaterThan(0.7);
    expect(d.phi(H)).toBeLessThan(0.9);
    expect(d.phi(3 * H)).toBeGreaterThan(0.4);
    expect(d.phi(3 * H)).toBeLessThan(0.65); // ρ³ = 0.512
  });

  it('uses the prior until enough pairs were seen, and keeps φ in [0, 1] (property)', () => {
    expect(dev().phi(H)).toBe(0.5);
    fc.assert(
      fc.property(fc.array(fc.option(fc.integer({ min: 0, max: 5000 }), { nil: null }), { minLength: 1, maxLength: 400 }), (values) => {
        const d = dev({ min_pairs: 1 });
        values.forEach((v, i) => d.observe(T0 + i * H, v));
        for (const h of [H, 3 * H]) {
          expect(d.phi(h)).toBeGreaterThanOrEqual(0);
          expect(d.phi(h)).toBeLessThanOrEqual(1);
        }
      }),
      { numRuns: 50 },
    );
  });

  it('never looks ahead: a forecast depends only on what was observed before it', () => {
    const series = Array.from({ length: 500 }, (_, i) => profile(i) + ((i * 37) % 11) * 20);
    const a = dev();
    const b = dev();
    series.forEach((v, i) => a.observe(T0 + i * H, v));
    series.slice(0, 400).forEach((v, i) => b.observe(T0 + i * H, v));
    const c = dev();
    series.slice(0, 400).forEach((v, i) => c.observe(T0 + i * H, v));
    expect(b.forecast(H)).toBe(c.forecast(H)); // deterministic
    expect(a.forecast(H)).not.toBe(b.forecast(H)); // and it does move with new data
  });

  it('holds only the deviations of the longest horizon', () => {
    const d = dev();
    for (let i = 0; i < 1000; i++) d.observe(T0 + i * H, profile(i));
    expect((d as unknown as { recent: Map<number, number> }).recent.size).toBeLessThanOrEqual(4);
  });
});
