/**
 * Detector-health rules: anomalies of the detector, not of the traffic, kept apart from traffic.ts so a broken
 * loop is sent to maintenance and not reported as a jam. Same event model (open/close with persistence and
 * clearing, run-state.ts); each rule has its own run, so one key can have several health alerts open.
 *
 * | rule | condition on one window | source of the idea / the number |
 * |---|---|---|
 * | no_hits | volume 0 while the time-of-week median expects ≥ `min_expected_per_window` vehicles | NTCIP 1202 §2.3.2.8 "no activity" (minutes without an actuation); FHWA TMG/TMAS flags ≥ 7 consecutive zero hours. 30 min at ≥ 2 expected vehicles per window: our choice (Poisson chance of six empty windows ≤ e^-12) |
 * | stuck_on | occupancy ≥ 95 % | NTCIP 1202 §2.3.2.9 "maximum presence" (minutes of constant call); 95 % for 15 min: our choice |
 * | chatter | volume per lane above 250 per 5 min (3 000 veh/h/ln), or ≥ 40 vehicles per lane with occupancy under half the physical minimum | NTCIP 1202 §2.3.2.10 "erratic counts"; the 3 000 veh/h/ln ceiling is the range check used in FHWA's archived-data QC synthesis (Turner 2007), above any HCM lane capacity; the occupancy minimum is our derivation (below) |
 * | flat_line_<measure> | the same non-zero value as the previous usable window | consecutive-identical-values checks of the same QC synthesis; 12 windows (1 h): our choice. Zero is left out: an empty road at night repeats 0 honestly, and no_hits covers a dead detector |
 *
 * Physical minimum occupancy: a vehicle covers a loop for at least (vehicle + zone length) / speed. With at
 * least 5 m (a 3.5 m car over a 1.5 m zone) at most 160 km/h, that is 0.1125 s, so n vehicles in 300 s occupy
 * at least 0.0375·n %. Requiring ≥ 40 vehicles and under half that bound keeps integer-percent rounding (TMDD)
 * from tripping it. A missing window (null, or observed less than `min_observed_fraction`) is no evidence.
 * Late or revised windows change no alert state (run-state.ts), but revise the volume baseline.
 */
import { DEFAULT_BASELINE, TimeOfWeekBaseline, type BaselineOptions } from './baseline.ts';
import { INITIAL_RUN, stepRun, validateRunRule, type Evidence, type RunRule, type RunState } from './run-state.ts';
import type { TrafficMeasure, WindowInput } from './types.ts';

export type HealthRule = 'no_hits' | 'stuck_on' | 'chatter' | `flat_line_${TrafficMeasure}`;

export interface DetectorHealthOptions {
  /** Baseline of volume, for no_hits. */
  baseline: BaselineOptions;
  min_observed_fraction: number;
  no_hits: RunRule & { min_expected_per_window: number };
  stuck_on: RunRule & { min_occupancy_pct: number };
  chatter: RunRule & {
    max_volume_per_lane: number;
    min_volume_for_occupancy_check: number;
    min_effective_length_m: number;
    max_speed_kmh: number;
    window_ms: number;
  };
  flat_line: RunRule & { measures: readonly TrafficMeasure[] };
}

export function defaultHealthOptions(time_zone: string): DetectorHealthOptions {
  const gap = 30 * 60_000;
  return {
    baseline: { ...DEFAULT_BASELINE, time_zone },
    min_observed_fraction: 0.5,
    no_hits: { persist: 6, clear: 2, max_gap_ms: gap, min_expected_per_window: 2 },
    stuck_on: { persist: 3, clear: 2, max_gap_ms: gap, min_occupancy_pct: 95 },
    chatter: {
      persist: 2,
      clear: 2,
      max_gap_ms: gap,
      max_volume_per_lane: 250,
      min_volume_for_occupancy_check: 40,
      min_effective_length_m: 5,
      max_speed_kmh: 160,
      window_ms: 300_000,
    },
    flat_line: { persist: 11, clear: 1, max_gap_ms: gap, measures: ['speed_kmh', 'occupancy_pct', 'volume'] },
  };
}

export interface DetectorHealthEvent {
  kind: 'open' | 'close';
  key: string;
  rule: HealthRule;
  window_start_ms: number;
  /** First window of the run that opened the alert (for flat_line: the first repeat of the value). */
  since_ms: number;
  /** A short, human reading of the window that caused the event. */
  detail: string;
  reason?: 'cleared' | 'gap';
}

/** Least occupancy % that `vehicles` passing one lane in `window_ms` can physically cause. */
export function minimumOccupancyPct(vehicles: number, o: DetectorHealthOptions['chatter']): number {
  const seconds_per_vehicle = o.min_effective_length_m / (o.max_speed_kmh / 3.6);
  return (100 * vehicles * seconds_per_vehicle) / (o.window_ms / 1000);
}

interface KeyState {
  volume: TimeOfWeekBaseline;
  runs: Map<HealthRule, RunState>;
  last_value: Map<TrafficMeasure, number>;
  last_ms: number | null;
}

/** What a judgement saw; its words (`describe`) are only worked out for a window that opens or closes an alert. */
type Facts =
  | { kind: 'no_hits'; volume: number | null; usual?: number | null }
  | { kind: 'stuck_on'; occupancy: number | null }
  | { kind: 'chatter'; per_lane: number | null; occupancy: number | null; floor: number }
  | { kind: 'flat_line'; measure: TrafficMeasure; value: number | null; previous: number | undefined };

type Judgement = { rule: HealthRule; evidence: Evidence; facts: Facts; run: RunRule };

/** A measure as evidence: null when the window saw too little of its time, or the value is missing. */
function usableValue(usable: boolean, x: number | null): number | null {
  return usable && x !== null && Number.isFinite(x) ? x : null;
}

/** A short, human reading of what a judgement saw; `usual` gives the volume baseline when it was not needed. */
function describe(f: Facts, usual: () => number | null): string {
  switch (f.kind) {
    case 'no_hits':
      return `volume ${f.volume ?? 'missing'}, usual ${(f.usual === undefined ? usual() : f.usual) ?? 'unknown'}`;
    case 'stuck_on':
      return `occupancy ${f.occupancy ?? 'missing'} %`;
    case 'chatter':
      return f.per_lane === null ? 'volume missing' : `${f.per_lane} vehicles per lane, occupancy ${f.occupancy ?? 'missing'} % (least plausible ${f.floor.toFixed(2)} %)`;
    case 'flat_line':
      return `${f.measure} ${f.value ?? 'missing'} (previous ${f.previous ?? 'none'})`;
  }
}

export class DetectorHealthMonitor {
  readonly options: Readonly<DetectorHealthOptions>;
  private readonly keys = new Map<string, KeyState>();

  constructor(options: DetectorHealthOptions) {
    for (const r of ['no_hits', 'stuck_on', 'chatter', 'flat_line'] as const) validateRunRule(options[r], `health.${r}`);
    this.options = Object.freeze({ ...options });
    new TimeOfWeekBaseline(options.baseline); // validates once, up front
  }

  push(w: Readonly<WindowInput>): DetectorHealthEvent[] {
    const st = this.stateOf(w.key);
    const usable = w.observed_fraction >= this.options.min_observed_fraction;
    const volume = usableValue(usable, w.volume);
    const occupancy = usableValue(usable, w.occupancy_pct);
    const judgements = [this.noHits(st, w.window_start_ms, volume), this.stuckOn(occupancy), this.chatter(volume, occupancy, w.lanes ?? 1)];
    const fl = this.options.flat_line;
    // Only an in-order window moves the flat-line memory; a late one must not pose as the latest value.
    const fresh = st.last_ms === null || w.window_start_ms > st.last_ms;
    for (const m of fl.measures) {
      const x = usableValue(usable, w[m]);
      const prev = st.last_value.get(m);
      const evidence: Evidence = x === null || x === 0 ? 'none' : prev === x ? 'beyond' : 'normal';
      judgements.push({ rule: `flat_line_${m}`, evidence, facts: { kind: 'flat_line', measure: m, value: x, previous: prev }, run: fl });
      if (x !== null && fresh) st.last_value.set(m, x);
    }

    const events: DetectorHealthEvent[] = [];
    for (const j of judgements) {
      const step = stepRun(st.runs.get(j.rule) ?? INITIAL_RUN, w.window_start_ms, j.evidence, j.run);
      st.runs.set(j.rule, step.state);
      for (const t of step.transitions) {
        events.push({
          kind: t.to,
          key: w.key,
          rule: j.rule,
          window_start_ms: w.window_start_ms,
          since_ms: t.since_ms,
          detail: describe(j.facts, () => st.volume.stats(w.window_start_ms)?.median ?? null),
          ...(t.to === 'close' ? { reason: t.reason } : {}),
        });
      }
    }
    st.volume.add(w.window_start_ms, volume);
    if (fresh) st.last_ms = w.window_start_ms;
    return events;
  }

  isOpen(key: string, rule: HealthRule): boolean {
    return this.keys.get(key)?.runs.get(rule)?.open ?? false;
  }

  private noHits(st: KeyState, t_ms: number, volume: number | null): Judgement {
    const o = this.options.no_hits;
    if (volume === null) return { rule: 'no_hits', evidence: 'none', facts: { kind: 'no_hits', volume }, run: o };
    if (volume > 0) return { rule: 'no_hits', evidence: 'normal', facts: { kind: 'no_hits', volume }, run: o };
    // Zero counted: a fault only where traffic was expected; a quiet night is no evidence either way.
    const usual = st.volume.stats(t_ms)?.median ?? null;
    const evidence: Evidence = usual !== null && usual >= o.min_expected_per_window ? 'beyond' : 'none';
    return { rule: 'no_hits', evidence, facts: { kind: 'no_hits', volume, usual }, run: o };
  }

  private stuckOn(occupancy: number | null): Judgement {
    const o = this.options.stuck_on;
    const evidence: Evidence = occupancy === null ? 'none' : occupancy >= o.min_occupancy_pct ? 'beyond' : 'normal';
    return { rule: 'stuck_on', evidence, facts: { kind: 'stuck_on', occupancy }, run: o };
  }

  private chatter(volume: number | null, occupancy: number | null, lanes: number): Judgement {
    const o = this.options.chatter;
    if (volume === null) return { rule: 'chatter', evidence: 'none', facts: { kind: 'chatter', per_lane: null, occupancy, floor: 0 }, run: o };
    const per_lane = volume / Math.max(1, lanes);
    const too_many = per_lane > o.max_volume_per_lane;
    const floor = minimumOccupancyPct(per_lane, o) / 2;
    const too_thin = occupancy !== null && per_lane >= o.min_volume_for_occupancy_check && occupancy < floor;
    return { rule: 'chatter', evidence: too_many || too_thin ? 'beyond' : 'normal', facts: { kind: 'chatter', per_lane, occupancy, floor }, run: o };
  }

  private stateOf(key: string): KeyState {
    let st = this.keys.get(key);
    if (!st) {
      st = { volume: new TimeOfWeekBaseline(this.options.baseline), runs: new Map(), last_value: new Map(), last_ms: null };
      this.keys.set(key, st);
    }
    return st;
  }
}
