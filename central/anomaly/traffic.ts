/**
 * Streaming traffic-anomaly detection, per key and measure: a robust score against the same time of week, with
 * the persistence and clearing hysteresis of run-state.ts. Pure: feed windows in time order with `push`, get
 * open/close events back.
 *
 * Score: the modified z-score of Iglewicz and Hoaglin (1993, "How to Detect and Handle Outliers", ASQC), with
 * their suggested cut-off of 3.5: 0.6745 · (x − median) / MAD. 0.6745 is the 0.75 quantile of the standard
 * normal, so the score reads like a z-score for normal data. The MAD is floored (absolute per measure and
 * relative to the median) because a quiet slot can have MAD 0 and would then call any change infinite.
 *
 * Order: each window is first scored against the history before it, then added to that history (walk-forward;
 * the baseline never sees the window it judges). A late or revised window (start ≤ the newest seen for its key)
 * raises no event, since alert state only moves forward, but its value replaces the earlier one in the baseline
 * so later judgements use the corrected history. Anomalous windows are learned too: the median and MAD resist
 * a minority of outliers, and an anomaly that lasts for weeks is the new normal.
 */
import { DEFAULT_BASELINE, TimeOfWeekBaseline, type BaselineOptions, type BaselineStats } from './baseline.ts';
import { INITIAL_RUN, stepRun, validateRunRule, type Evidence, type RunRule, type RunState } from './run-state.ts';
import { TRAFFIC_MEASURES, type Direction, type TrafficMeasure, type WindowInput } from './types.ts';

export interface TrafficAnomalyOptions extends RunRule {
  baseline: BaselineOptions;
  /** |score| at or beyond which a window counts as anomalous. */
  threshold: number;
  /** Which side of the baseline is an anomaly, per measure; a measure left out is not watched. */
  directions: Partial<Record<TrafficMeasure, readonly Direction[]>>;
  /** Smallest MAD used, in the measure's unit. */
  mad_floor: Record<TrafficMeasure, number>;
  /** Smallest MAD used, as a fraction of |median|. */
  mad_floor_ratio: number;
  /** Windows observed less than this are treated as missing: half a window is not evidence. */
  min_observed_fraction: number;
}

export function defaultTrafficOptions(time_zone: string): TrafficAnomalyOptions {
  return {
    baseline: { ...DEFAULT_BASELINE, time_zone },
    // Iglewicz and Hoaglin's 3.5 is a cut-off for one point; here three windows in a row must pass it (persist),
    // which noise alone does far more rarely: at 2.5, about 0.6 % of windows one-sided, 2 · 10⁻⁷ for three
    // independent ones, against 2 · 10⁻⁴ for one at 3.5. On NAB's MnDOT labels 2.5 found 7 of 10 windows
    // with 2 false alarms, 3.5 found 5 with 2 (docs/traffic-model.md; chosen after seeing those labels).
    threshold: 2.5,
    persist: 3, // 15 minutes of 5-minute windows: our choice, the usual incident-detection persistence span
    clear: 3,
    max_gap_ms: 15 * 60_000, // two missing windows are tolerated, a third resets: our choice
    // Slow traffic and a full detector matter to operators; volume can fail both ways (closure, event).
    directions: { speed_kmh: ['low'], occupancy_pct: ['high'], volume: ['low', 'high'] },
    // Our choice: about the resolution of the figures (integer km/h, 1 % occupancy, a couple of vehicles).
    mad_floor: { speed_kmh: 2, occupancy_pct: 1, volume: 2 },
    mad_floor_ratio: 0.05,
    min_observed_fraction: 0.5,
  };
}

export interface TrafficAnomalyEvent {
  kind: 'open' | 'close';
  key: string;
  measure: TrafficMeasure;
  direction: Direction;
  /** `<measure>_<direction>`, e.g. `speed_kmh_low`: the Alert schema's `rule`. */
  rule: string;
  /** The window that caused the event. */
  window_start_ms: number;
  /** First window of the run that opened the alert: with key and rule, the alert's identity. */
  since_ms: number;
  /** This window's score; null when it had no evidence (a gap close caused by a window without a baseline). */
  score: number | null;
  value: number | null;
  baseline: BaselineStats | null;
  /** Why a close happened: `cleared` by normal windows, or `gap` (no evidence for longer than max_gap_ms). */
  reason?: 'cleared' | 'gap';
}

/** The robust score of `value` against `stats`, with the MAD floored. */
export function robustScore(value: number, stats: BaselineStats, floor_abs: number, floor_ratio: number): number {
  const mad = Math.max(stats.mad, floor_abs, floor_ratio * Math.abs(stats.median));
  return (0.6745 * (value - stats.median)) / mad;
}

interface Track {
  baseline: TimeOfWeekBaseline;
  runs: Map<Direction, RunState>;
}

export class TrafficAnomalyDetector {
  readonly options: Readonly<TrafficAnomalyOptions>;
  private readonly tracks = new Map<string, Track>();

  constructor(options: TrafficAnomalyOptions) {
    validateRunRule(options, 'traffic');
    if (!(options.threshold > 0)) throw new RangeError('traffic.threshold must be > 0');
    this.options = Object.freeze({ ...options });
    new TimeOfWeekBaseline(options.baseline); // validates the baseline options once, up front
  }

  /** Feed one window; returns the events it caused, in a stable order (measure, then direction). */
  push(w: Readonly<WindowInput>): TrafficAnomalyEvent[] {
    const events: TrafficAnomalyEvent[] = [];
    const usable = w.observed_fraction >= this.options.min_observed_fraction;
    for (const measure of TRAFFIC_MEASURES) {
      const directions = this.options.directions[measure];
      if (!directions || directions.length === 0) continue;
      const track = this.trackOf(w.key, measure);
      const raw = w[measure];
      const value = usable && raw !== null && Number.isFinite(raw) ? raw : null;
      const stats = value === null ? null : track.baseline.stats(w.window_start_ms);
      const score =
        value === null || stats === null
          ? null
          : robustScore(value, stats, this.options.mad_floor[measure], this.options.mad_floor_ratio);
      for (const direction of directions) {
        const evidence: Evidence =
          score === null ? 'none' : (direction === 'low' ? score <= -this.options.threshold : score >= this.options.threshold) ? 'beyond' : 'normal';
        const step = stepRun(track.runs.get(direction) ?? INITIAL_RUN, w.window_start_ms, evidence, this.options);
        track.runs.set(direction, step.state);
        for (const t of step.transitions) {
          events.push({
            kind: t.to,
            key: w.key,
            measure,
            direction,
            rule: `${measure}_${direction}`,
            window_start_ms: w.window_start_ms,
            since_ms: t.since_ms,
            score,
            value,
            baseline: stats,
            ...(t.to === 'close' ? { reason: t.reason } : {}),
          });
        }
      }
      track.baseline.add(w.window_start_ms, value);
    }
    return events;
  }

  /** Whether an alert is open for key, measure and direction. */
  isOpen(key: string, measure: TrafficMeasure, direction: Direction): boolean {
    return this.tracks.get(`${key}\u0000${measure}`)?.runs.get(direction)?.open ?? false;
  }

  private trackOf(key: string, measure: TrafficMeasure): Track {
    const id = `${key}\u0000${measure}`;
    let t = this.tracks.get(id);
    if (!t) {
      t = { baseline: new TimeOfWeekBaseline(this.options.baseline), runs: new Map() };
      this.tracks.set(id, t);
    }
    return t;
  }
}
