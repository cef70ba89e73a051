/**
 * Anomaly detection against NAB's labelled windows. A labelled window counts as detected when at least one
 * alert opens inside it; an alert that opens outside every labelled window is a false alarm. "Opens" is the
 * window whose arrival fires the alert (the moment someone would be paged), not the start of its run.
 *
 * Two detectors see the same windows, in time order, with the same persistence, clearing and gap rules
 * (run-state.ts), so the comparison isolates the score:
 * - robust: central/anomaly/traffic.ts, its time-of-week baseline learnt walk-forward from the series itself;
 * - fixed: speed below `speed_below_kmh` or occupancy above `occupancy_above_pct`, no learning at all.
 */
import { TrafficAnomalyDetector, type TrafficAnomalyOptions } from '../../central/anomaly/traffic.ts';
import { INITIAL_RUN, stepRun, type RunRule, type RunState } from '../../central/anomaly/run-state.ts';
import type { WindowInput } from '../../central/anomaly/types.ts';
import type { Point } from './load.ts';
import { nabNormalised, nabRaw, type NabRaw } from './nab-score.ts';

export interface LabelledSeries {
  /** The NAB file name, e.g. `speed_6005.csv`. */
  name: string;
  measure: 'speed_kmh' | 'occupancy_pct';
  windows: Point[];
  labels: Array<[number, number]>;
}

export interface DetectionScore {
  series: string;
  labelled: number;
  detected: number;
  false_alarms: number;
  alerts: number;
  /** NAB's score, standard profile: raw for a series; for the total, `normalised` over all of them. */
  nab?: NabRaw;
  normalised?: number;
}

export interface FixedThresholds {
  speed_below_kmh: number;
  occupancy_above_pct: number;
}

/** Detections and false alarms of these alert openings; with the series' rows, NAB's score too. */
export function scoreOpenings(series: string, openings: readonly number[], labels: ReadonlyArray<[number, number]>, rows?: readonly number[]): DetectionScore {
  const inside = (t: number, [a, b]: [number, number]): boolean => t >= a && t <= b;
  return {
    series,
    labelled: labels.length,
    detected: labels.filter((l) => openings.some((t) => inside(t, l))).length,
    false_alarms: openings.filter((t) => !labels.some((l) => inside(t, l))).length,
    alerts: openings.length,
    ...(rows ? { nab: nabRaw(rows, openings, labels) } : {}),
  };
}

function asWindow(key: string, measure: LabelledSeries['measure'], p: Point): WindowInput {
  return {
    key,
    window_start_ms: p.t_ms,
    speed_kmh: measure === 'speed_kmh' ? p.value : null,
    occupancy_pct: measure === 'occupancy_pct' ? p.value : null,
    volume: null,
    observed_fraction: 1,
  };
}

/** Window starts at which the robust detector opened an alert on this series. */
export function robustOpenings(s: LabelledSeries, options: TrafficAnomalyOptions): number[] {
  const detector = new TrafficAnomalyDetector(options);
  const out: number[] = [];
  for (const p of s.windows) {
    for (const e of detector.push(asWindow(s.name, s.measure, p))) if (e.kind === 'open') out.push(e.window_start_ms);
  }
  return out;
}

/** Window starts at which the fixed-threshold rule opened an alert on this series. */
export function fixedOpenings(s: LabelledSeries, t: FixedThresholds, rule: RunRule): number[] {
  let state: RunState = { ...INITIAL_RUN };
  const out: number[] = [];
  for (const p of s.windows) {
    const beyond = s.measure === 'speed_kmh' ? p.value < t.speed_below_kmh : p.value > t.occupancy_above_pct;
    const step = stepRun(state, p.t_ms, beyond ? 'beyond' : 'normal', rule);
    state = step.state;
    for (const tr of step.transitions) if (tr.to === 'open') out.push(p.t_ms);
  }
  return out;
}

export interface AnomalyEvaluation {
  robust: DetectionScore[];
  fixed: DetectionScore[];
}

function total(rows: readonly DetectionScore[]): DetectionScore {
  const sum = rows.reduce(
    (a, r) => ({
      series: 'total',
      labelled: a.labelled + r.labelled,
      detected: a.detected + r.detected,
      false_alarms: a.false_alarms + r.false_alarms,
      alerts: a.alerts + r.alerts,
    }),
    { series: 'total', labelled: 0, detected: 0, false_alarms: 0, alerts: 0 },
  );
  const parts = rows.flatMap((r) => (r.nab ? [r.nab] : []));
  return parts.length === rows.length ? { ...sum, normalised: nabNormalised(parts) } : sum;
}

/** Both detectors on every series; each list ends with a `total` row. */
export function evaluateAnomalies(series: readonly LabelledSeries[], options: TrafficAnomalyOptions, fixed: FixedThresholds): AnomalyEvaluation {
  const rowsOf = (s: LabelledSeries) => s.windows.map((p) => p.t_ms);
  const robust = series.map((s) => scoreOpenings(s.name, robustOpenings(s, options), s.labels, rowsOf(s)));
  const fixedRows = series.map((s) => scoreOpenings(s.name, fixedOpenings(s, fixed, options), s.labels, rowsOf(s)));
  return { robust: [...robust, total(robust)], fixed: [...fixedRows, total(fixedRows)] };
}
