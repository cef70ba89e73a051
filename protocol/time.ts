/**
 * Epoch-aligned, half-open time ranges. Every bin and window in WacoFlow is `[start, start + width)` with
 * `start` a multiple of `width` counted from the UTC epoch, so edge and central agree on boundaries without
 * talking to each other.
 */
import { BinAlgebraError } from './errors.ts';

export const SECOND_MS = 1_000;
export const MINUTE_MS = 60_000;
export const WINDOW_MS = 5 * MINUTE_MS;

/** Largest multiple of `width_ms` that is ≤ `t_ms` (correct for times before 1970 too). */
export function alignDown(t_ms: number, width_ms: number): number {
  if (!Number.isInteger(width_ms) || width_ms <= 0) throw new BinAlgebraError(`width_ms must be a positive integer, got ${width_ms}`);
  const r = t_ms % width_ms;
  return r < 0 ? t_ms - r - width_ms : t_ms - r;
}

export interface TimeRange {
  readonly start_ms: number;
  readonly end_ms: number;
}

/** The window of width `width_ms` that contains `t_ms`. */
export function windowOf(t_ms: number, width_ms: number = WINDOW_MS): TimeRange {
  const start_ms = alignDown(t_ms, width_ms);
  return { start_ms, end_ms: start_ms + width_ms };
}

/**
 * A bin width nests inside a window width when every bin lies wholly inside one window: the bin width
 * divides the window width. Only nesting widths are allowed, or a bin would straddle two windows.
 */
export function nests(bin_ms: number, window_ms: number = WINDOW_MS): boolean {
  return Number.isInteger(bin_ms) && bin_ms > 0 && window_ms % bin_ms === 0;
}

/** Start times of every `width_ms` slot overlapping `[from_ms, to_ms)`, in order. */
export function slotsIn(from_ms: number, to_ms: number, width_ms: number): number[] {
  const out: number[] = [];
  for (let t = alignDown(from_ms, width_ms); t < to_ms; t += width_ms) out.push(t);
  return out;
}

const zoneFormats = new Map<string, Intl.DateTimeFormat>();

/** The IANA zone's offset from UTC at instant `t_ms`, in minutes (Central Standard Time: -360). */
export function zoneOffsetMinutes(t_ms: number, time_zone: string): number {
  let fmt = zoneFormats.get(time_zone);
  if (!fmt) {
    fmt = new Intl.DateTimeFormat('en-CA', {
      timeZone: time_zone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23',
    });
    zoneFormats.set(time_zone, fmt);
  }
  const p = Object.fromEntries(fmt.formatToParts(new Date(t_ms)).map((x) => [x.type, x.value]));
  const asUtc = Date.UTC(Number(p.year), Number(p.month) - 1, Number(p.day), Number(p.hour), Number(p.minute), Number(p.second));
  return Math.round((asUtc - Math.floor(t_ms / 1000) * 1000) / 60_000);
}

/** Whether the runtime knows this IANA time zone name. */
export function isTimeZone(name: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: name });
    return true;
  } catch {
    return false;
  }
}
