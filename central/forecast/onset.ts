/**
 * Congestion onset warnings: "this station will be moderate or worse within 30 minutes", raised while it is
 * still clear or light. Pure: `push` each final station window in time order with what is expected of it.
 *
 * One rule, two predicates. central warns on the forecasts and the corridor (`forecastSaysCongested`: the next
 * station downstream is congested, or a forecast within the warning horizon may be); the evaluation runs the
 * same class with the naive predicate "light now" beside it, so the warning is measured against the obvious
 * rule.
 *
 * A warning opens at the first window, clear or light, for which the predicate holds. It closes when the
 * congestion arrives (`arrived`: the warning came true, and a congestion alert of its own takes over), or after
 * `clear_after_windows` windows in a row where the predicate no longer holds (`eased`). A window with no level
 * (nothing observed) is no evidence either way; a gap longer than `max_gap_ms` closes an open warning (`gap`).
 */
import type { Congestion } from '../../protocol/index.ts';
import type { StationForecast } from './station.ts';

export const CONGESTED: ReadonlySet<Congestion> = new Set(['moderate', 'severe']);

export interface OnsetOptions {
  /** Forecasts up to this far ahead can raise a warning. */
  within_min: number;
  /** Windows without the predicate before an open warning closes. */
  clear_after_windows: number;
  /** More than this between windows with a level closes an open warning. */
  max_gap_ms: number;
}

export const DEFAULT_ONSET: Readonly<OnsetOptions> = Object.freeze({ within_min: 30, clear_after_windows: 2, max_gap_ms: 15 * 60_000 });

export interface OnsetEvent {
  kind: 'open' | 'close';
  rule: 'congestion_onset';
  key: string;
  window_start_ms: number;
  /** Start of the window that opened the warning. */
  since_ms: number;
  reason?: 'arrived' | 'eased' | 'gap';
  detail: string;
}

/** The next station downstream on the corridor and its latest final level, when there is one. */
export interface Downstream {
  station_id: string;
  level: Congestion;
}

/** Whether a warning should stand at this window, and why (the reason goes into the alert's detail). */
export type OnsetPredicate = (level: Congestion, forecast: StationForecast | null, downstream: Downstream | null) => { warn: boolean; why: string };

/**
 * central's predicate: the next station downstream is moderate or severe (a queue may be on its way), or within
 * `within_min` the worse end of some forecast's 80 % interval (its low speed and high occupancy, what about one
 * time in ten looks like) is moderate or severe. The forecast itself leans to
 * the usual profile and crossed into congestion before none of the 15 onsets in the evaluation; its interval's
 * worse end warned of 6, with a third of the false alarms of "light now" (docs/traffic-model.md).
 */
export function forecastSaysCongested(within_min: number): OnsetPredicate {
  return (level, forecast, downstream) => {
    // A queue grows upstream: congestion at the next station down the corridor may reach this one.
    if (downstream && CONGESTED.has(downstream.level)) return { warn: true, why: `${level} now; ${downstream.station_id} downstream is ${downstream.level}: its queue may reach here` };
    const soon = (forecast?.horizons ?? []).filter((h) => h.horizon_min <= within_min && CONGESTED.has(h.worse_congestion));
    if (soon.length === 0) return { warn: false, why: '' };
    const first = soon[0]!;
    const speed = first.speed_kmh === null ? '' : `, speed ${first.speed_kmh.toFixed(0)} km/h${first.speed_interval ? ` (80 %: ${first.speed_interval.low.toFixed(0)}–${first.speed_interval.high.toFixed(0)})` : ''}`;
    return { warn: true, why: `${level} now; ${first.worse_congestion} possible in ${first.horizon_min} min${speed}` };
  };
}

/** The naive rule the forecast must beat: warn whenever the station is light now. */
export const lightNow: OnsetPredicate = (level) => ({ warn: level === 'light', why: 'light now' });

interface State {
  open: boolean;
  since_ms: number;
  quiet: number;
  last_ms: number;
}

export class OnsetWarner {
  private readonly states = new Map<string, State>();
  private readonly predicate: OnsetPredicate;
  readonly options: Readonly<OnsetOptions>;

  constructor(predicate: OnsetPredicate, options: Readonly<OnsetOptions> = DEFAULT_ONSET) {
    this.predicate = predicate;
    this.options = options;
  }

  push(key: string, window_start_ms: number, level: Congestion, forecast: StationForecast | null, downstream: Downstream | null = null): OnsetEvent[] {
    if (level === 'unknown') return [];
    let s = this.states.get(key);
    if (!s) {
      s = { open: false, since_ms: 0, quiet: 0, last_ms: -Infinity };
      this.states.set(key, s);
    }
    if (window_start_ms <= s.last_ms) return []; // late, or a revision of a window already judged: the warning is about the future
    const events: OnsetEvent[] = [];
    const close = (reason: OnsetEvent['reason'], detail: string): void => {
      events.push({ kind: 'close', rule: 'congestion_onset', key, window_start_ms, since_ms: s!.since_ms, reason, detail });
      s!.open = false;
    };
    if (s.open && window_start_ms - s.last_ms > this.options.max_gap_ms) close('gap', 'no data');
    s.last_ms = window_start_ms;

    if (CONGESTED.has(level)) {
      if (s.open) close('arrived', `${level} now`);
      return events;
    }
    const { warn, why } = this.predicate(level, forecast, downstream);
    if (warn) {
      s.quiet = 0;
      if (!s.open) {
        s.open = true;
        s.since_ms = window_start_ms;
        events.push({ kind: 'open', rule: 'congestion_onset', key, window_start_ms, since_ms: window_start_ms, detail: why });
      }
    } else if (s.open && ++s.quiet >= this.options.clear_after_windows) {
      close('eased', `${level} now; no congestion expected within ${this.options.within_min} min`);
    }
    return events;
  }

  /** Whether a warning is open for `key` (for tests and the dashboard's state). */
  isOpen(key: string): boolean {
    return this.states.get(key)?.open ?? false;
  }
}
