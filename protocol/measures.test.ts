import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { aggregateSamples, expectedSamples, windowStartOfBin } from './binning.ts';
import { BinAlgebraError } from './errors.ts';
import { EMPTY_MEASURES, merge, mergeAll, mergeInto, measuresOfSample, summarise, type Measures } from './measures.ts';
import { alignDown, nests, windowOf, WINDOW_MS } from './time.ts';
import type { Sample } from './v1/sample.ts';

const T0 = 1_764_230_400_000; // 2025-11-27T08:00:00Z, a window boundary
const INTERVAL_MS = 20_000;

const sampleArb = (detectors: string[], from_ms: number, slots: number): fc.Arbitrary<Sample> =>
  fc.record({
    detector_id: fc.constantFrom(...detectors),
    station_id: fc.constant('st-1'),
    start_ms: fc.integer({ min: 0, max: slots - 1 }).map((i) => from_ms + i * INTERVAL_MS),
    duration_ms: fc.constant(INTERVAL_MS),
    volume: fc.option(fc.integer({ min: 0, max: 60 }), { nil: null }),
    occupancy_pct: fc.option(fc.double({ min: 0, max: 100, noNaN: true }), { nil: null }),
    speed_kmh: fc.option(fc.double({ min: 0, max: 200, noNaN: true }), { nil: null }),
    queue_veh: fc.option(fc.integer({ min: 0, max: 40 }), { nil: null }),
    status: fc.constant('ok' as const),
  });

const measuresArb: fc.Arbitrary<Measures> = sampleArb(['d1'], T0, 15).map((s) => ({
  ...measuresOfSample(s),
  samples_expected: 3,
}));

/** Integers exactly, real-valued sums to a relative tolerance (floating-point addition is not associative). */
function expectSameMeasures(a: Measures, b: Measures): void {
  expect(a.volume).toBe(b.volume);
  expect(a.speed_weight).toBe(b.speed_weight);
  expect(a.samples_seen).toBe(b.samples_seen);
  expect(a.samples_expected).toBe(b.samples_expected);
  expect(a.speed_min_kmh).toBe(b.speed_min_kmh);
  expect(a.speed_max_kmh).toBe(b.speed_max_kmh);
  expect(a.queue_max_veh ?? null).toBe(b.queue_max_veh ?? null);
  // Relative, not absolute: a speed near zero makes speed_inverse_sum astronomically large (1e242 was seen), and
  // two summation orders then differ far beyond any absolute tolerance while agreeing to 15 significant digits.
  for (const k of ['occupied_ms', 'occupancy_observed_ms', 'speed_sum', 'speed_inverse_sum'] as const) {
    if (a[k] !== b[k]) expect(Math.abs(a[k] - b[k]), k).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(a[k]), Math.abs(b[k])));
  }
}

describe('merge', () => {
  it('is associative', () => {
    fc.assert(
      fc.property(measuresArb, measuresArb, measuresArb, (a, b, c) => {
        expectSameMeasures(merge(merge(a, b), c), merge(a, merge(b, c)));
      }),
    );
  });

  it('mergeInto writes exactly what merge returns into its target, and leaves the other input alone', () => {
    fc.assert(
      fc.property(measuresArb, measuresArb, (a, b) => {
        const bCopy = structuredClone(b);
        const target = structuredClone(a);
        expect(mergeInto(target, b)).toBe(target);
        expect(target).toStrictEqual(merge(a, b));
        expect(b).toStrictEqual(bCopy);
      }),
    );
  });

  it('is commutative', () => {
    fc.assert(fc.property(measuresArb, measuresArb, (a, b) => expectSameMeasures(merge(a, b), merge(b, a))));
  });

  it('has the empty aggregate as identity and does not change its inputs', () => {
    fc.assert(
      fc.property(measuresArb, (a) => {
        const copy = structuredClone(a);
        expect(merge(a, EMPTY_MEASURES)).toEqual(a);
        expect(merge(EMPTY_MEASURES, a)).toEqual(a);
        expect(a).toEqual(copy);
      }),
    );
  });

  it('keeps missing counts apart from zero counts', () => {
    const none = measuresOfSample({ detector_id: 'd', station_id: 's', start_ms: T0, duration_ms: 20_000, volume: null, occupancy_pct: null, speed_kmh: 90, status: 'ok' });
    const zero = measuresOfSample({ detector_id: 'd', station_id: 's', start_ms: T0, duration_ms: 20_000, volume: 0, occupancy_pct: 0, speed_kmh: 90, status: 'ok' });
    expect(none.volume).toBeNull();
    expect(merge(none, none).volume).toBeNull();
    expect(merge(none, zero).volume).toBe(0);
    // A speed with no counted vehicles carries no weight (Iowa SIMS lanes report exactly this).
    expect(summarise(merge(none, zero)).speed_kmh).toBeNull();
  });
});

describe('summaries', () => {
  it('weights speed by count and occupancy by time', () => {
    const s = (volume: number, speed_kmh: number, occupancy_pct: number): Sample => ({
      detector_id: 'd', station_id: 's', start_ms: T0, duration_ms: 20_000, volume, occupancy_pct, speed_kmh, status: 'ok',
    });
    const m = mergeAll([s(10, 100, 5), s(30, 60, 15), s(0, 200, 0)].map(measuresOfSample));
    const out = summarise({ ...m, samples_expected: 3 });
    expect(out.volume).toBe(40);
    expect(out.speed_kmh).toBeCloseTo((10 * 100 + 30 * 60) / 40, 10); // 70
    expect(out.space_mean_speed_kmh).toBeCloseTo(40 / (10 / 100 + 30 / 60), 10); // 66.67
    expect(out.occupancy_pct).toBeCloseTo(20 / 3, 10);
    expect(out.speed_min_kmh).toBe(60);
    expect(out.speed_max_kmh).toBe(100); // the 200 km/h reading came with no vehicles
    expect(out.observed_fraction).toBe(1);
  });

  it('reports the observed fraction against what was expected', () => {
    expect(summarise({ ...EMPTY_MEASURES, samples_seen: 12, samples_expected: 15 }).observed_fraction).toBeCloseTo(0.8);
    expect(summarise({ ...EMPTY_MEASURES, samples_seen: 0, samples_expected: 15 }).observed_fraction).toBe(0);
    expect(summarise({ ...EMPTY_MEASURES, samples_seen: 20, samples_expected: 15 }).observed_fraction).toBe(1);
  });
});

describe('epoch alignment', () => {
  it.each([
    [T0, 60_000, T0],
    [T0 + 59_999, 60_000, T0],
    [T0 + 60_000, 60_000, T0 + 60_000],
    [-1, 60_000, -60_000],
    [0, 300_000, 0],
  ])('alignDown(%i, %i) = %i', (t, w, expected) => {
    expect(alignDown(t, w)).toBe(expected);
  });

  it('puts every instant in exactly one half-open window', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 4_102_444_800_000 }), (t) => {
        const w = windowOf(t);
        expect(w.start_ms % WINDOW_MS).toBe(0);
        expect(w.start_ms <= t && t < w.end_ms).toBe(true);
      }),
    );
  });

  it('allows only bin widths that divide the window', () => {
    expect([20_000, 30_000, 60_000, 300_000].every((b) => nests(b))).toBe(true);
    expect(nests(45_000)).toBe(false);
    expect(() => windowStartOfBin(T0, 45_000)).toThrow(BinAlgebraError);
    expect(windowStartOfBin(T0 + 240_000, 60_000)).toBe(T0);
  });
});

describe('a 5-minute window from 60-second bins equals one from the raw samples', () => {
  const SLOTS = 3 * (WINDOW_MS / INTERVAL_MS); // three windows of 20 s samples
  const detectors = ['d1', 'd2', 'd3'];

  it.each([20_000, 60_000, 100_000, 300_000])('with %i ms bins', (bin_ms) => {
    fc.assert(
      fc.property(fc.array(sampleArb(detectors, T0, SLOTS), { maxLength: 120 }), (samples) => {
        const include = { detectors: new Map(detectors.map((d) => [d, 'st-1'])), from_ms: T0, to_ms: T0 + SLOTS * INTERVAL_MS };
        const bins = aggregateSamples(samples, bin_ms, INTERVAL_MS, include);
        const direct = aggregateSamples(samples, WINDOW_MS, INTERVAL_MS, include);
        for (const w of direct) {
          const fromBins = mergeAll(
            bins
              .filter((b) => b.detector_id === w.detector_id && windowStartOfBin(b.slot_start_ms, bin_ms) === w.slot_start_ms)
              .map((b) => b.measures),
          );
          expectSameMeasures(fromBins, w.measures);
          const [x, y] = [summarise(fromBins), summarise(w.measures)];
          expect(x.volume).toBe(y.volume);
          for (const k of ['occupancy_pct', 'speed_kmh', 'space_mean_speed_kmh'] as const) {
            if (y[k] === null) expect(x[k]).toBeNull();
            else expect(x[k]).toBeCloseTo(y[k]!, 9);
          }
        }
        expect(direct).toHaveLength(detectors.length * 3);
        expect(direct.every((w) => w.measures.samples_expected === expectedSamples(WINDOW_MS, INTERVAL_MS))).toBe(true);
      }),
    );
  });
});
