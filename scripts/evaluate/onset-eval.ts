/**
 * Congestion onset warnings on a real station's series, walked forward exactly as central's analytics walks its
 * final windows: the station forecaster and the onset warner with central's settings, the congestion level
 * from the station's free-flow speed as learnt so far. Two warners run side by side on the same windows: the
 * forecast-based one central raises, and the naive "light now".
 *
 * An *onset* is a moderate-or-severe window whose previous window had a level, with no moderate-or-severe
 * window in the 30 minutes before it. It is *warned* when a warning opened before it was still open at its start (the warner
 * closes such a warning as `arrived`); the lead time is the onset's start minus the warning's opening window.
 * A *false alarm* is a warning that closed without the congestion arriving (eased, or a gap in the data).
 */
import { congestionOf } from '../../central/classify/congestion.ts';
import { FreeFlowLearner } from '../../central/classify/free-flow.ts';
import { CONGESTED, DEFAULT_ONSET, forecastSaysCongested, lightNow, OnsetWarner, type OnsetEvent } from '../../central/forecast/onset.ts';
import { defaultForecastOptions, StationForecaster } from '../../central/forecast/station.ts';
import type { Congestion } from '../../protocol/index.ts';
import type { Point } from './load.ts';

const QUIET_BEFORE_ONSET_MS = 30 * 60_000;

export interface WarningScore {
  warned: number;
  false_alarms: number;
  /** Lead times of the warned onsets, minutes, ascending. */
  leads_min: number[];
}

export interface OnsetEvaluation {
  station: string;
  windows_with_level: number;
  days: number;
  onsets: number;
  forecast: WarningScore;
  light_now: WarningScore;
}

export function evaluateOnsets(station: string, speed: readonly Point[], occupancy: readonly Point[], step_ms: number, time_zone: string): OnsetEvaluation {
  const sp = new Map(speed.map((p) => [p.t_ms, p.value]));
  const oc = new Map(occupancy.map((p) => [p.t_ms, p.value]));
  const times = [...new Set([...sp.keys(), ...oc.keys()])].sort((a, b) => a - b);
  const forecaster = new StationForecaster(defaultForecastOptions(time_zone));
  const freeFlow = new FreeFlowLearner();
  const warners = { forecast: new OnsetWarner(forecastSaysCongested(DEFAULT_ONSET.within_min)), light_now: new OnsetWarner(lightNow) };
  const events: Record<keyof typeof warners, OnsetEvent[]> = { forecast: [], light_now: [] };
  const levels = new Map<number, Congestion>();

  for (let t = times[0]!; t <= times[times.length - 1]!; t += step_ms) {
    if (!sp.has(t) && !oc.has(t)) continue;
    const w = { key: station, window_start_ms: t, speed_kmh: sp.get(t) ?? null, occupancy_pct: oc.get(t) ?? null, volume: null, observed_fraction: 1 };
    // As in central: the window's level from the free-flow speed learnt before it; then the models learn it.
    const ff = freeFlow.estimate(station);
    const level: Congestion = ff === null ? 'unknown' : congestionOf(w, ff);
    forecaster.push(w);
    freeFlow.push(station, w, t);
    if (level === 'unknown') continue;
    levels.set(t, level);
    const forecast = forecaster.forecast(station, ff!);
    for (const k of ['forecast', 'light_now'] as const) events[k].push(...warners[k].push(station, t, level, forecast));
  }

  const onsets = [...levels].filter(([t, level]) => {
    if (!CONGESTED.has(level)) return false;
    const before = [...levels].filter(([u]) => u >= t - QUIET_BEFORE_ONSET_MS && u < t);
    return before.length > 0 && before.every(([, l]) => !CONGESTED.has(l)) && levels.has(t - step_ms);
  }).map(([t]) => t);
  const onsetSet = new Set(onsets);
  const score = (list: OnsetEvent[]): WarningScore => {
    const closes = list.filter((e) => e.kind === 'close');
    const leads = closes.filter((e) => e.reason === 'arrived' && onsetSet.has(e.window_start_ms)).map((e) => (e.window_start_ms - e.since_ms) / 60_000);
    return { warned: leads.length, false_alarms: closes.filter((e) => e.reason !== 'arrived').length, leads_min: leads.sort((a, b) => a - b) };
  };
  const span = levels.size === 0 ? 0 : Math.max(...levels.keys()) - Math.min(...levels.keys());
  return { station, windows_with_level: levels.size, days: span / 86_400_000, onsets: onsets.length, forecast: score(events.forecast), light_now: score(events.light_now) };
}
