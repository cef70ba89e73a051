/**
 * Incident detection between adjacent stations, after the California algorithms (Payne and Tignor, 1978; TSC #7
 * in particular): a blockage between two detectors leaves a queue over the upstream one (high occupancy) and
 * thin traffic past it over the downstream one (low occupancy). Recurrent congestion fills both, so the
 * difference between them, not either alone, is the evidence.
 *
 * Per pair of stations, for each 5-minute window with both occupancies:
 *   OCCDF  = OCC(up) − OCC(down)              ≥ T1 (percentage points)
 *   OCCRDF = OCCDF / OCC(up)                  ≥ T2
 *   OCC(down)                                 < T3 (TSC #7's test, in place of TSC #2's temporal one: a
 *                                                    compression wave passing down the road fills the
 *                                                    downstream detector too, an incident does not). T3 is
 *                                                    the `moderate` occupancy bound: downstream not queued.
 * A window passing all three is a tentative incident; `persist` in a row confirm it (an alert opens, keyed by the
 * upstream station); it continues while OCCRDF ≥ T2 and clears after `clear` windows without. A window missing
 * either occupancy is no evidence; a gap longer than `max_gap_ms` resets the run.
 *
 * T1 and T2 are the published ones' order of magnitude (T1 8–12 points, T2 0.3–0.5 for 20- to 60-second data),
 * set for 5-minute windows; all three were checked on the simulator's incidents (docs/traffic-model.md), where
 * a first T3 of 12 % missed incidents on I-35, whose downstream detectors run at 15 % in the midday traffic.
 */
import { OCCUPANCY_PCT } from '../classify/congestion.ts';
import { INITIAL_RUN, stepRun, type RunRule, type RunState } from './run-state.ts';

export interface IncidentOptions extends RunRule {
  /** Smallest occupancy difference, percentage points. */
  min_difference_pct: number;
  /** Smallest difference relative to the upstream occupancy. */
  min_relative_difference: number;
  /** Largest downstream occupancy, percent. */
  max_downstream_pct: number;
}

export const DEFAULT_INCIDENT: Readonly<IncidentOptions> = Object.freeze({
  min_difference_pct: 12,
  min_relative_difference: 0.5,
  max_downstream_pct: OCCUPANCY_PCT.moderate,
  persist: 2,
  clear: 2,
  max_gap_ms: 15 * 60_000,
});

export interface IncidentEvent {
  kind: 'open' | 'close';
  rule: 'incident';
  /** The upstream station: the incident lies between it and `downstream`. */
  key: string;
  downstream: string;
  window_start_ms: number;
  since_ms: number;
  reason?: 'gap';
  detail: string;
}

/** One window of a pair: both stations' occupancy, percent (null when not observed). */
export interface PairWindow {
  up: string;
  down: string;
  window_start_ms: number;
  up_occupancy_pct: number | null;
  down_occupancy_pct: number | null;
}

export class IncidentDetector {
  readonly options: Readonly<IncidentOptions>;
  private readonly runs = new Map<string, RunState>();

  constructor(options: Readonly<IncidentOptions> = DEFAULT_INCIDENT) {
    this.options = options;
  }

  push(w: PairWindow): IncidentEvent[] {
    const key = `${w.up}>${w.down}`;
    const state = this.runs.get(key) ?? { ...INITIAL_RUN };
    const { up_occupancy_pct: up, down_occupancy_pct: down } = w;
    const o = this.options;
    let evidence: 'beyond' | 'normal' | 'none' = 'none';
    let facts = '';
    if (up !== null && down !== null) {
      const difference = up - down;
      const relative = up > 0 ? difference / up : 0;
      // Once open, the incident continues on the relative difference alone (TSC #7's continuation test).
      const open = state.open;
      const beyond = open ? relative >= o.min_relative_difference : difference >= o.min_difference_pct && relative >= o.min_relative_difference && down < o.max_downstream_pct;
      evidence = beyond ? 'beyond' : 'normal';
      facts = `occupancy ${up.toFixed(0)} % at ${w.up}, ${down.toFixed(0)} % at ${w.down} downstream`;
    }
    const step = stepRun(state, w.window_start_ms, evidence, o);
    this.runs.set(key, step.state);
    return step.transitions.map((t) => ({
      kind: t.to === 'open' ? 'open' : 'close',
      rule: 'incident' as const,
      key: w.up,
      downstream: w.down,
      window_start_ms: w.window_start_ms,
      since_ms: t.since_ms,
      ...(t.to === 'close' && t.reason === 'gap' ? { reason: 'gap' as const } : {}),
      detail: t.to === 'open' ? `possible incident between ${w.up} and ${w.down}: ${facts}` : facts ? `cleared: ${facts}` : 'cleared (no data)',
    }));
  }
}
