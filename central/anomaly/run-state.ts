/**
 * The open/close state machine every alert rule shares, as one pure step function. A rule looks at one window
 * and says `beyond` (the condition holds), `normal` (it does not) or `none` (no evidence: the value is missing
 * or there is no baseline yet). The machine adds hysteresis:
 *
 * - an alert opens after `persist` consecutive `beyond` windows, so one noisy window does not page anyone;
 * - an open alert closes after `clear` consecutive `normal` windows, so it does not flap on the threshold;
 * - `none` neither extends nor breaks a run: a missing window is not evidence either way;
 * - a gap longer than `max_gap_ms` between two windows with evidence resets both runs, and closes an open
 *   alert with reason `gap`: after that long we no longer know the condition still holds, and silence itself
 *   belongs to the detector-health rules, not to this alert;
 * - a window at or before the last one seen (late or revised) changes nothing and is reported as `stale`.
 *   Alert state only moves forward in event time; replaying history would re-page people for the past.
 */

export interface RunRule {
  /** Consecutive `beyond` windows that open an alert (≥ 1). */
  persist: number;
  /** Consecutive `normal` windows that close it (≥ 1). */
  clear: number;
  /** Longest tolerated time between two windows with evidence before the runs reset. */
  max_gap_ms: number;
}

export type Evidence = 'beyond' | 'normal' | 'none';

export interface RunState {
  open: boolean;
  /** Start of the first window of the run that opened the open alert: the alert's identity. */
  opened_window_ms: number | null;
  beyond: number;
  normal: number;
  /** Start of the first window of the current `beyond` run. */
  run_start_ms: number | null;
  last_evidence_ms: number | null;
  last_ms: number | null;
}

export const INITIAL_RUN: Readonly<RunState> = Object.freeze({
  open: false,
  opened_window_ms: null,
  beyond: 0,
  normal: 0,
  run_start_ms: null,
  last_evidence_ms: null,
  last_ms: null,
});

export type Transition =
  | { to: 'open'; since_ms: number }
  | { to: 'close'; since_ms: number; reason: 'cleared' | 'gap' };

export interface Step {
  state: RunState;
  transitions: Transition[];
  /** True when the window was at or before the last one seen and so was ignored. */
  stale: boolean;
}

export function stepRun(prev: Readonly<RunState>, t_ms: number, evidence: Evidence, rule: RunRule): Step {
  if (prev.last_ms !== null && t_ms <= prev.last_ms) return { state: { ...prev }, transitions: [], stale: true };
  const s: RunState = { ...prev, last_ms: t_ms };
  const transitions: Transition[] = [];
  if (evidence === 'none') return { state: s, transitions, stale: false };

  if (s.last_evidence_ms !== null && t_ms - s.last_evidence_ms > rule.max_gap_ms) {
    if (s.open && s.opened_window_ms !== null) transitions.push({ to: 'close', since_ms: s.opened_window_ms, reason: 'gap' });
    s.open = false;
    s.opened_window_ms = null;
    s.beyond = 0;
    s.normal = 0;
    s.run_start_ms = null;
  }
  s.last_evidence_ms = t_ms;

  if (evidence === 'beyond') {
    s.normal = 0;
    s.beyond += 1;
    if (s.beyond === 1) s.run_start_ms = t_ms;
    if (!s.open && s.beyond >= rule.persist && s.run_start_ms !== null) {
      s.open = true;
      s.opened_window_ms = s.run_start_ms;
      transitions.push({ to: 'open', since_ms: s.run_start_ms });
    }
  } else {
    s.beyond = 0;
    s.run_start_ms = null;
    s.normal += 1;
    if (s.open && s.normal >= rule.clear && s.opened_window_ms !== null) {
      transitions.push({ to: 'close', since_ms: s.opened_window_ms, reason: 'cleared' });
      s.open = false;
      s.opened_window_ms = null;
    }
  }
  return { state: s, transitions, stale: false };
}

export function validateRunRule(rule: RunRule, where: string): void {
  if (!Number.isInteger(rule.persist) || rule.persist < 1) throw new RangeError(`${where}.persist must be an integer ≥ 1`);
  if (!Number.isInteger(rule.clear) || rule.clear < 1) throw new RangeError(`${where}.clear must be an integer ≥ 1`);
  if (!(rule.max_gap_ms > 0)) throw new RangeError(`${where}.max_gap_ms must be > 0`);
}
