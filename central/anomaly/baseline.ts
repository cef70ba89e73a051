/**
 * A time-of-week baseline: the median and MAD of what a measure did at the same local time on earlier weeks.
 * Pure and in memory: `add` an observation, ask `stats` for a time. No clock reads; "now" is whatever the
 * newest observation says.
 *
 * Why local time: traffic follows the clock on the wall, so 08:00 on a Monday must meet 08:00 on earlier
 * Mondays across a daylight-saving change. `zoneOffsetMinutes` turns the UTC instant into local time.
 *
 * Why pooling (±`neighbour_slots`): one observation per slot per week is too little to estimate a spread;
 * the slots either side behave almost the same, so a few weeks of history already give a usable MAD.
 *
 * Memory is bounded: a slot keeps only observations from the last `weeks_kept` weeks (counted from the
 * newest week seen), so a station costs at most slots_per_week × weeks_kept × (a little) numbers.
 */
import { zoneOffsetMinutes } from '../../platform/time-zones.ts';

const MINUTE_MS = 60_000;
const DAY_MS = 86_400_000;
const WEEK_MS = 7 * DAY_MS;
/** 1970-01-01 was a Thursday; shifting by four days makes slot 0 start at Monday 00:00 local. */
const MONDAY_SHIFT_MS = 4 * DAY_MS;

export interface BaselineOptions {
  /** IANA zone whose wall clock the traffic follows, e.g. `America/Chicago`. */
  time_zone: string;
  /** Width of one slot; must divide a week. 300 000 (5 min) for windows, 3 600 000 for hourly series. */
  slot_ms: number;
  /** Slots either side pooled with the slot itself (0 = the slot alone). */
  neighbour_slots: number;
  /** Fewer pooled observations than this and `stats` returns null: not enough history to judge. */
  min_history: number;
  /** Weeks of history kept per slot. */
  weeks_kept: number;
  /**
   * While the time-of-week pool is thinner than `min_history`, pool the same time of day on the other days of
   * the same kind (Monday–Friday, or Saturday–Sunday) instead: a new station gets a baseline after days, not
   * weeks. The week pool takes over as soon as it is deep enough.
   */
  day_fallback: boolean;
}

export const DEFAULT_BASELINE: Readonly<Omit<BaselineOptions, 'time_zone'>> = Object.freeze({
  slot_ms: 300_000,
  neighbour_slots: 2,
  min_history: 5,
  weeks_kept: 8,
  day_fallback: true,
});

export interface BaselineStats {
  median: number;
  /** Median absolute deviation from the median (unscaled). */
  mad: number;
  /** Observations pooled. */
  n: number;
}

interface Entry {
  t_ms: number;
  week: number;
  value: number;
}

export interface SlotPosition {
  /** Slot within the local week, 0 = Monday 00:00 local. */
  slot: number;
  /** Local weeks since the epoch's first Monday: what `weeks_kept` counts. */
  week: number;
}

/** Where a UTC instant falls in the local week. */
export function slotOf(t_ms: number, time_zone: string, slot_ms: number): SlotPosition {
  const local = t_ms + zoneOffsetMinutes(t_ms, time_zone) * MINUTE_MS - MONDAY_SHIFT_MS;
  const week = Math.floor(local / WEEK_MS);
  return { slot: Math.floor((local - week * WEEK_MS) / slot_ms), week };
}

/** Median of a non-empty array (sorts a copy). */
export function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Median and MAD of a non-empty array. */
export function robustStats(values: readonly number[]): BaselineStats {
  const m = median(values);
  return { median: m, mad: median(values.map((v) => Math.abs(v - m))), n: values.length };
}

export class TimeOfWeekBaseline {
  readonly options: Readonly<BaselineOptions>;
  readonly slots_per_week: number;
  private readonly slots = new Map<number, Entry[]>();
  private newest_week = Number.NEGATIVE_INFINITY;

  constructor(options: BaselineOptions) {
    if (!Number.isInteger(options.slot_ms) || options.slot_ms <= 0 || WEEK_MS % options.slot_ms !== 0) {
      throw new RangeError(`slot_ms must be a positive integer dividing a week, got ${options.slot_ms}`);
    }
    if (options.weeks_kept < 1 || options.min_history < 1 || options.neighbour_slots < 0) {
      throw new RangeError('weeks_kept and min_history must be ≥ 1 and neighbour_slots ≥ 0');
    }
    this.options = Object.freeze({ ...options });
    this.slots_per_week = WEEK_MS / options.slot_ms;
  }

  /**
   * Record `value` at `t_ms`. A second value for the same `t_ms` replaces the first (a revised window must not
   * count twice). Null and non-finite values are ignored: missing is not zero.
   */
  add(t_ms: number, value: number | null): void {
    if (value === null || !Number.isFinite(value)) return;
    const { slot, week } = slotOf(t_ms, this.options.time_zone, this.options.slot_ms);
    if (week > this.newest_week) this.newest_week = week;
    const oldest = this.newest_week - this.options.weeks_kept + 1;
    if (week < oldest) return;
    const kept = (this.slots.get(slot) ?? []).filter((e) => e.week >= oldest && e.t_ms !== t_ms);
    kept.push({ t_ms, week, value });
    this.slots.set(slot, kept);
  }

  /** The pooled values for the slot of `t_ms` and its neighbours, within the kept weeks. */
  pooled(t_ms: number): number[] {
    const { slot } = slotOf(t_ms, this.options.time_zone, this.options.slot_ms);
    const oldest = this.newest_week - this.options.weeks_kept + 1;
    const out: number[] = [];
    // A pool wider than the week would visit a slot twice.
    const n = Math.min(this.options.neighbour_slots, Math.floor((this.slots_per_week - 1) / 2));
    for (let d = -n; d <= n; d++) {
      const s = (((slot + d) % this.slots_per_week) + this.slots_per_week) % this.slots_per_week;
      for (const e of this.slots.get(s) ?? []) if (e.week >= oldest) out.push(e.value);
    }
    return out;
  }

  /** The pooled values at the same time of day (and its neighbours) on every kept day of the same kind. */
  pooledByDay(t_ms: number): number[] {
    const { slot } = slotOf(t_ms, this.options.time_zone, this.options.slot_ms);
    const per_day = this.slots_per_week / 7;
    if (!Number.isInteger(per_day)) return [];
    const day = Math.floor(slot / per_day);
    const days = day < 5 ? [0, 1, 2, 3, 4] : [5, 6];
    const oldest = this.newest_week - this.options.weeks_kept + 1;
    const n = Math.min(this.options.neighbour_slots, Math.floor((per_day - 1) / 2));
    const out: number[] = [];
    for (const d of days) {
      for (let k = -n; k <= n; k++) {
        const s = d * per_day + ((((slot % per_day) + k) % per_day) + per_day) % per_day;
        for (const e of this.slots.get(s) ?? []) if (e.week >= oldest) out.push(e.value);
      }
    }
    return out;
  }

  /**
   * Median and MAD at the time of week of `t_ms` (or, with `day_fallback` while that is too thin, at the time of
   * day on days of the same kind), or null when fewer than `min_history` values pool there.
   */
  stats(t_ms: number): BaselineStats | null {
    let values = this.pooled(t_ms);
    if (values.length < this.options.min_history && this.options.day_fallback) values = this.pooledByDay(t_ms);
    return values.length < this.options.min_history ? null : robustStats(values);
  }

  /** Observations held (for tests and memory metrics). */
  size(): number {
    let n = 0;
    for (const entries of this.slots.values()) n += entries.length;
    return n;
  }
}
