/**
 * The mergeable aggregate at the heart of WacoFlow. A bin, a detector window, a station window and a corridor
 * window are all `Measures`: sums, never averages, so merging is exact (integers) or exact up to floating-point
 * rounding (real-valued sums), associative and commutative. A 5-minute window built from 60-second bins equals
 * one built from the raw samples.
 *
 * Rules (ARCHITECTURE.md "Contracts"):
 * - Missing is not zero: a sample without a count leaves `volume` untouched (null stays null).
 * - Speed is weighted by count and ignored where the count is 0 or missing, or the speed is 0 (a lane that
 *   reports 0 km/h for counted vehicles has no usable speed; the count still counts).
 * - Occupancy is time-weighted: occupied time over observed time.
 */
import type { Sample } from './v1/sample.ts';

export interface Measures {
  /** Vehicles counted; null when no sample carried a count. */
  volume: number | null;
  /** Σ occupancy/100 × duration over samples that reported occupancy (ms). */
  occupied_ms: number;
  /** Σ duration over samples that reported occupancy (ms). */
  occupancy_observed_ms: number;
  /** Σ count over samples with a count > 0 and a speed > 0 (vehicles). */
  speed_weight: number;
  /** Σ speed × count (km/h · vehicles): the count-weighted, time-mean speed's numerator. */
  speed_sum: number;
  /** Σ count / speed (vehicles · h/km): the harmonic, space-mean speed's denominator. */
  speed_inverse_sum: number;
  speed_min_kmh: number | null;
  speed_max_kmh: number | null;
  /** Samples that arrived. */
  samples_seen: number;
  /** Samples the source should have produced in the covered time. */
  samples_expected: number;
  /** Longest queue reported (vehicles): merges by max. Absent when no sample carried a queue. */
  queue_max_veh?: number | null;
}

export const EMPTY_MEASURES: Readonly<Measures> = Object.freeze({
  volume: null,
  occupied_ms: 0,
  occupancy_observed_ms: 0,
  speed_weight: 0,
  speed_sum: 0,
  speed_inverse_sum: 0,
  speed_min_kmh: null,
  speed_max_kmh: null,
  samples_seen: 0,
  samples_expected: 0,
});

/** An empty aggregate that expects `samples_expected` samples (an interval in which nothing arrived yet). */
export function expecting(samples_expected: number): Measures {
  // Written out rather than spread from the frozen EMPTY_MEASURES: spreading a frozen object takes V8's slow
  // path, and central creates one of these per window.
  return {
    volume: null, occupied_ms: 0, occupancy_observed_ms: 0, speed_weight: 0, speed_sum: 0, speed_inverse_sum: 0,
    speed_min_kmh: null, speed_max_kmh: null, samples_seen: 0, samples_expected,
  };
}

function minOf(a: number | null, b: number | null): number | null {
  if (a === null) return b;
  if (b === null) return a;
  return Math.min(a, b);
}

function maxOf(a: number | null, b: number | null): number | null {
  if (a === null) return b;
  if (b === null) return a;
  return Math.max(a, b);
}

/** The aggregate of one sample on its own (it expects nothing: expectation belongs to the interval). */
export function measuresOfSample(s: Sample): Measures {
  const m: Measures = { ...EMPTY_MEASURES, samples_seen: 1 };
  if (s.volume !== null) m.volume = s.volume;
  if (s.occupancy_pct !== null) {
    m.occupied_ms = (s.occupancy_pct / 100) * s.duration_ms;
    m.occupancy_observed_ms = s.duration_ms;
  }
  if (s.queue_veh !== undefined && s.queue_veh !== null) m.queue_max_veh = s.queue_veh;
  if (s.volume !== null && s.volume > 0 && s.speed_kmh !== null && s.speed_kmh > 0) {
    m.speed_weight = s.volume;
    m.speed_sum = s.speed_kmh * s.volume;
    m.speed_inverse_sum = s.volume / s.speed_kmh;
    m.speed_min_kmh = s.speed_kmh;
    m.speed_max_kmh = s.speed_kmh;
  }
  return m;
}

/** Exact, associative, commutative merge. Returns a new object; neither input is changed. */
export function merge(a: Readonly<Measures>, b: Readonly<Measures>): Measures {
  const queue = maxOf(a.queue_max_veh ?? null, b.queue_max_veh ?? null);
  return {
    ...(queue === null ? {} : { queue_max_veh: queue }),
    volume: a.volume === null ? b.volume : b.volume === null ? a.volume : a.volume + b.volume,
    occupied_ms: a.occupied_ms + b.occupied_ms,
    occupancy_observed_ms: a.occupancy_observed_ms + b.occupancy_observed_ms,
    speed_weight: a.speed_weight + b.speed_weight,
    speed_sum: a.speed_sum + b.speed_sum,
    speed_inverse_sum: a.speed_inverse_sum + b.speed_inverse_sum,
    speed_min_kmh: minOf(a.speed_min_kmh, b.speed_min_kmh),
    speed_max_kmh: maxOf(a.speed_max_kmh, b.speed_max_kmh),
    samples_seen: a.samples_seen + b.samples_seen,
    samples_expected: a.samples_expected + b.samples_expected,
  };
}

/**
 * `merge(target, b)` written into `target`, for folds that own their accumulator. Same rules, same result.
 */
export function mergeInto(target: Measures, b: Readonly<Measures>): Measures {
  const queue = maxOf(target.queue_max_veh ?? null, b.queue_max_veh ?? null);
  if (queue === null) delete target.queue_max_veh;
  else target.queue_max_veh = queue;
  target.volume = target.volume === null ? b.volume : b.volume === null ? target.volume : target.volume + b.volume;
  target.occupied_ms += b.occupied_ms;
  target.occupancy_observed_ms += b.occupancy_observed_ms;
  target.speed_weight += b.speed_weight;
  target.speed_sum += b.speed_sum;
  target.speed_inverse_sum += b.speed_inverse_sum;
  target.speed_min_kmh = minOf(target.speed_min_kmh, b.speed_min_kmh);
  target.speed_max_kmh = maxOf(target.speed_max_kmh, b.speed_max_kmh);
  target.samples_seen += b.samples_seen;
  target.samples_expected += b.samples_expected;
  return target;
}

export function mergeAll(items: Iterable<Readonly<Measures>>): Measures {
  let acc: Measures = { ...EMPTY_MEASURES };
  for (const m of items) acc = merge(acc, m);
  return acc;
}

/** The figures an operator reads, derived from the sums. Null where nothing was observed. */
export interface Summary {
  volume: number | null;
  occupancy_pct: number | null;
  /** Count-weighted time-mean speed. */
  speed_kmh: number | null;
  /** Harmonic (space-mean) speed: what density = flow / speed needs. */
  space_mean_speed_kmh: number | null;
  speed_min_kmh: number | null;
  speed_max_kmh: number | null;
  /** samples_seen / samples_expected, capped at 1; 1 when nothing was expected but something arrived. */
  observed_fraction: number;
  queue_max_veh: number | null;
}

export function summarise(m: Readonly<Measures>): Summary {
  return {
    volume: m.volume,
    occupancy_pct: m.occupancy_observed_ms > 0 ? (100 * m.occupied_ms) / m.occupancy_observed_ms : null,
    speed_kmh: m.speed_weight > 0 ? m.speed_sum / m.speed_weight : null,
    space_mean_speed_kmh: m.speed_inverse_sum > 0 ? m.speed_weight / m.speed_inverse_sum : null,
    speed_min_kmh: m.speed_min_kmh,
    speed_max_kmh: m.speed_max_kmh,
    observed_fraction:
      m.samples_expected > 0 ? Math.min(1, m.samples_seen / m.samples_expected) : m.samples_seen > 0 ? 1 : 0,
    queue_max_veh: m.queue_max_veh ?? null,
  };
}
