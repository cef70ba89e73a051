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
