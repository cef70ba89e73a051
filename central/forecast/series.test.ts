import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { BaselineOptions } from '../anomaly/baseline.ts';
import { CombinedForecaster, DeviationForecaster, PersistenceForecaster, SeasonalForecaster, type CombinedOptions, type DeviationOptions } from './series.ts';

const H = 3_600_000;
const WEEK = 168 * H;
/** Monday 2015-09-07 00:00 CDT. */
const T0 = Date.UTC(2015, 8, 7, 5);
const hourly: BaselineOptions = { time_zone: 'America/Chicago', slot_ms: H, neighbour_slots: 0, min_history: 2, weeks_kept: 8, day_fallback: false };
const dev = (o: Partial<DeviationOptions> = {}): DeviationForecaster =>
  new DeviationForecaster({ baseline: hourly, horizons_ms: [H, 3 * H], step_ms: H, fit_half_life_ms: 1e15, smooth_ms: H, prior_half_life_ms: H, prior_pairs: 10, ...o });
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
    const d = dev({ prior_pairs: 100 });
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

  it('starts from a prior that halves per half-life, and keeps φ in [0, 1] (property)', () => {
    expect(dev().phi(H)).toBe(0.5);
    expect(dev().phi(3 * H)).toBe(0.125);
    fc.assert(
      fc.property(fc.array(fc.option(fc.integer({ min: 0, max: 5000 }), { nil: null }), { minLength: 1, maxLength: 400 }), (values) => {
        const d = dev({ prior_pairs: 1 });
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

  it('carries forward the mean deviation over its smoothing span, not the last window alone', () => {
    const d = dev({ smooth_ms: 3 * H });
    for (let i = 0; i < 3 * 168; i++) d.observe(T0 + i * H, profile(i));
    const n = 3 * 168;
    [60, -30, 90].forEach((x, k) => d.observe(T0 + (n + k) * H, profile(n + k) + x));
    // the carried deviation is (60 − 30 + 90) / 3, not the last window's 90
    expect(d.forecast(H)).toBeCloseTo(profile(n + 3) + d.phi(H) * 40, 9);
  });

  it('holds only the deviations of the longest horizon', () => {
    const d = dev();
    for (let i = 0; i < 1000; i++) d.observe(T0 + i * H, profile(i));
    expect((d as unknown as { recent: Map<number, number> }).recent.size).toBeLessThanOrEqual(4);
  });
});

describe('CombinedForecaster', () => {
  const combined = (o: Partial<CombinedOptions> = {}): CombinedForecaster =>
    new CombinedForecaster({
      baseline: hourly, horizons_ms: [H, 3 * H], step_ms: H, fit_half_life_ms: 1e15, smooth_ms: H, prior_half_life_ms: H, prior_pairs: 10,
      error_half_life_ms: 48 * H, sharpness: 4, min_scored: 20, time_of_day_buckets: 1, interval_errors: 500, interval_coverage: 0.8, ...o,
    });
  let seed = 7;
  const rand = (): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) - 0.5;

  it('follows the deviation model alone until enough of its forecasts were scored', () => {
    const c = combined();
    const d = dev();
    let alone = 0;
    for (let i = 0; i < 3 * 168; i++) {
      const v = profile(i) + 50 * rand();
      c.observe(T0 + i * H, v);
      d.observe(T0 + i * H, v);
      const w = c.weights(H)!;
      if (w.deviation === 1) {
        alone += 1;
        expect(c.forecast(H)).toBe(d.forecast(H));
      }
    }
    // The profile needs two weeks here (min_history 2, no day fallback): until then and for the first 20
    // scored forecasts after, the deviation model speaks alone; then the weights spread.
    expect(alone).toBeGreaterThanOrEqual(2 * 168 + 18);
    expect(c.weights(H)!.deviation).toBeLessThan(1);
    expect(c.forecast(H)).not.toBe(d.forecast(H));
    const fresh = combined();
    fresh.observe(T0, 700);
    expect(fresh.forecast(H)).toBe(700); // no profile yet: the deviation model falls back to persistence
    expect(fresh.weights(H)).toEqual({ persistence: 0, profile: 0, deviation: 1 });
    expect(fresh.interval(H)).toBeNull();
  });

  it('weighs the profile up on a periodic series and persistence up on a random walk', () => {
    const periodic = combined();
    for (let i = 0; i < 6 * 168; i++) periodic.observe(T0 + i * H, profile(i) + 20 * rand());
    const wp = periodic.weights(3 * H)!;
    expect(wp.profile + wp.deviation).toBeGreaterThan(0.9);

    const walk = combined();
    let x = 1000;
    for (let i = 0; i < 6 * 168; i++) walk.observe(T0 + i * H, (x += 200 * rand()));
    expect(walk.weights(H)!.persistence).toBeGreaterThan(0.5);
  });

  it('has a lower error than each of its parts on a periodic series with lasting deviations', () => {
    const c = combined();
    const parts = [new PersistenceForecaster(), new SeasonalForecaster(hourly)];
    const errors = [0, 0, 0];
    let n = 0;
    let x = 0;
    const issued = new Map<number, number[]>();
    for (let i = 0; i < 10 * 168; i++) {
      const t = T0 + i * H;
      x = 0.7 * x + 120 * rand();
      const v = profile(i) + x;
      const due = issued.get(t);
      if (due && i > 4 * 168) {
        due.forEach((f, k) => (errors[k]! += Math.abs(f - v)));
        n += 1;
      }
      c.observe(t, v);
      for (const p of parts) p.observe(t, v);
      const fs = [c.forecast(H), ...parts.map((p) => p.forecast(H))];
      if (fs.every((f) => f !== null)) issued.set(t + H, fs as number[]);
    }
    expect(n).toBeGreaterThan(1000);
    const [own, persistence, seasonal] = errors.map((e) => e / n) as [number, number, number];
    expect(own).toBeLessThan(Math.min(persistence, seasonal));
  });

  it('gives an 80 % interval that covers about 80 % of outcomes', () => {
    const c = combined({ interval_errors: 1000 });
    let inside = 0;
    let scored = 0;
    const issued = new Map<number, { low: number; high: number }>();
    for (let i = 0; i < 12 * 168; i++) {
      const t = T0 + i * H;
      const v = profile(i) + 100 * rand();
      const iv = issued.get(t);
      if (iv && i > 4 * 168) {
        scored += 1;
        if (v >= iv.low && v <= iv.high) inside += 1;
      }
      c.observe(t, v);
      const next = c.interval(H);
      if (next) {
        expect(next.low).toBeLessThanOrEqual(c.forecast(H)!);
        expect(next.high).toBeGreaterThanOrEqual(c.forecast(H)!);
        issued.set(t + H, next);
      }
    }
    expect(scored).toBeGreaterThan(1000);
    expect(inside / scored).toBeGreaterThan(0.74);
    expect(inside / scored).toBeLessThan(0.86);
  });

  it('never looks ahead: what it says after 500 observations is the same whether 100 more follow or not', () => {
    const series = Array.from({ length: 600 }, (_, i) => profile(i) + ((i * 37) % 11) * 20);
    const a = combined();
    let atFiveHundred: unknown = null;
    series.forEach((v, i) => {
      a.observe(T0 + i * H, v);
      if (i === 499) atFiveHundred = [a.forecast(H), a.interval(H), a.weights(H)];
    });
    const b = combined();
    series.slice(0, 500).forEach((v, i) => b.observe(T0 + i * H, v));
    expect([b.forecast(H), b.interval(H), b.weights(H)]).toEqual(atFiveHundred);
    expect(a.forecast(H)).not.toBe(b.forecast(H)); // and it does move with new data
  });
});
