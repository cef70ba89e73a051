/**
 * Central's analytics: final window results in, alerts and forecasts out. Station windows feed the traffic-
 * anomaly detector, the forecaster and, with each new forecast, the congestion-onset warner (the same code and
 * settings `npm run evaluate` measures); detector windows feed the detector-health rules. The models are the pure
 * ones in anomaly/ and forecast/; this class turns their events into protocol Alerts, named by the window
 * revision that triggered them, and keeps no I/O of its own.
 */
import { WINDOW_MS, type Alert, type Congestion, type Station, type WindowResult } from '../protocol/index.ts';
import { defaultHealthOptions, DetectorHealthMonitor, type DetectorHealthEvent } from './anomaly/detector-health.ts';
import { defaultTrafficOptions, TrafficAnomalyDetector, type TrafficAnomalyEvent } from './anomaly/traffic.ts';
import type { WindowInput } from './anomaly/types.ts';
import { FreeFlowLearner } from './classify/free-flow.ts';
import { FALLBACK_FREE_FLOW_KMH } from './windows/result.ts';
import { defaultForecastOptions, StationForecaster, type StationForecast } from './forecast/station.ts';
import { DEFAULT_ONSET, forecastSaysCongested, OnsetWarner, type OnsetEvent } from './forecast/onset.ts';
import { DEFAULT_INCIDENT, IncidentDetector, type IncidentEvent } from './anomaly/incident.ts';

export interface AnalyticsOutput {
  alerts: Alert[];
  forecasts: StationForecast[];
}

export class Analytics {
  private readonly traffic: TrafficAnomalyDetector;
  private readonly health: DetectorHealthMonitor;
  private readonly forecaster: StationForecaster;
  private readonly onset = new OnsetWarner(forecastSaysCongested(DEFAULT_ONSET.within_min), DEFAULT_ONSET);
  private readonly stations: ReadonlyMap<string, Station>;
  /** Lanes per detector window is 1; per station window, the station's lanes. */
  private readonly lanesOf: (w: WindowResult) => number;
  /** Opening time of each open alert, so its close event carries it too. */
  private readonly opened = new Map<string, number>();
  private readonly freeFlow = new FreeFlowLearner();
  /** The next station downstream of each (forecast/corridors.ts), the reverse, and each station's latest final window. */
  private readonly downstream: ReadonlyMap<string, string>;
  private readonly upstream: ReadonlyMap<string, string>;
  private readonly latest = new Map<string, { window_start_ms: number; level: Congestion; occupancy_pct: number | null }>();
  private readonly incidents = new IncidentDetector(DEFAULT_INCIDENT);

  constructor(time_zone: string, stations: ReadonlyMap<string, Station>, downstream: ReadonlyMap<string, string> = new Map()) {
    this.downstream = downstream;
    this.upstream = new Map([...downstream].map(([up, down]) => [down, up]));
    this.traffic = new TrafficAnomalyDetector(defaultTrafficOptions(time_zone));
    this.health = new DetectorHealthMonitor(defaultHealthOptions(time_zone));
    this.forecaster = new StationForecaster(defaultForecastOptions(time_zone));
    this.stations = stations;
    this.lanesOf = (w) => (w.level === 'station' ? (stations.get(w.key)?.lanes ?? 1) : 1);
  }

  /**
   * Feeds final and revised windows, oldest first. Alerts are what opened or closed; forecasts are the new ones of
   * every station that got a window. `quiet` feeds history at start-up: models learn, nothing is reported.
   *
   * Successive calls must move forward in time across stations, not station by station: neighbouring stations
   * are compared slot by slot (onset warnings, incidents), so every station's windows of a slot must come after
   * every station's windows of the earlier slots. Within a call the windows are sorted by time.
   */
  observe(windows: readonly WindowResult[], now_ms: number, quiet = false): AnalyticsOutput {
    const alerts: Alert[] = [];
    const stationsSeen = new Set<string>();
    const sorted = windows.filter((w) => w.state !== 'provisional' && w.level !== 'corridor').sort((a, b) => a.window_start_ms - b.window_start_ms);
    for (const w of sorted) {
      const input: WindowInput = { key: w.key, window_start_ms: w.window_start_ms, speed_kmh: w.speed_kmh, occupancy_pct: w.occupancy_pct, volume: w.volume, observed_fraction: w.observed_fraction, lanes: this.lanesOf(w) };
      if (w.level === 'station') {
        const events: (TrafficAnomalyEvent | OnsetEvent | IncidentEvent)[] = this.traffic.push(input);
        this.forecaster.push(input);
        const below = this.downstream.get(w.key);
        const seen = below === undefined ? undefined : this.latest.get(below);
        // The neighbour's level counts while it is recent: its window of this slot or the one before, never a later one.
        const lag = seen ? w.window_start_ms - seen.window_start_ms : -1;
        const downstream = seen && lag >= 0 && lag <= WINDOW_MS ? { station_id: below!, level: seen.level } : null;
        events.push(...this.onset.push(w.key, w.window_start_ms, w.congestion, this.forecaster.forecast(w.key, this.freeFlowOf(w.key)), downstream));
        if (w.window_start_ms >= (this.latest.get(w.key)?.window_start_ms ?? -Infinity)) {
          this.latest.set(w.key, { window_start_ms: w.window_start_ms, level: w.congestion, occupancy_pct: w.occupancy_pct });
          // A pair of adjacent stations is judged once both have this slot's window, whichever came second.
          for (const [up, down] of [[w.key, below], [this.upstream.get(w.key), w.key]] as const) {
            const [a, b] = [up === undefined ? undefined : this.latest.get(up), down === undefined ? undefined : this.latest.get(down)];
            if (!a || !b || a.window_start_ms !== w.window_start_ms || b.window_start_ms !== w.window_start_ms) continue;
            events.push(...this.incidents.push({ up: up!, down: down!, window_start_ms: w.window_start_ms, up_occupancy_pct: a.occupancy_pct, down_occupancy_pct: b.occupancy_pct }));
          }
        }
        this.freeFlow.push(w.key, w, w.window_start_ms);
        stationsSeen.add(w.key);
        if (!quiet) alerts.push(...events.map((e) => this.alertOf('traffic', e, w, now_ms)));
      } else {
        const events = this.health.push(input);
        if (!quiet) alerts.push(...events.map((e) => this.alertOf('detector_health', e, w, now_ms)));
      }
    }
    if (quiet) return { alerts: [], forecasts: [] };
    const forecasts = [...stationsSeen].flatMap((key) => this.forecaster.forecast(key, this.freeFlowOf(key)) ?? []);
    return { alerts, forecasts };
  }

  /** Learned free-flow speeds, rounded to 0.1 km/h, of every station that has one. */
  learnedFreeFlow(): Map<string, number> {
    return new Map(this.freeFlow.keys().flatMap((k) => {
      const v = this.freeFlow.estimate(k);
      return v === null ? [] : [[k, Math.round(v * 10) / 10] as const];
    }));
  }

  /** The learned free-flow speed, else the configured one. */
  freeFlowOf(key: string): number {
    return this.freeFlow.estimate(key) ?? this.stations.get(key)?.free_flow_kmh ?? FALLBACK_FREE_FLOW_KMH;
  }

  private alertOf(kind: 'traffic' | 'detector_health', e: TrafficAnomalyEvent | DetectorHealthEvent | OnsetEvent | IncidentEvent, w: WindowResult, now_ms: number): Alert {
    const alert_id = `${kind}:${e.rule}:${e.key}:${e.since_ms}`;
    if (e.kind === 'open') this.opened.set(alert_id, now_ms);
    const opened_ms = this.opened.get(alert_id) ?? now_ms;
    if (e.kind === 'close') this.opened.delete(alert_id);
    return {
      v: 1,
      alert_id,
      kind,
      rule: e.rule,
      key: e.key,
      state: e.kind === 'open' ? 'open' : 'closed',
      severity: 'warning',
      opened_ms,
      closed_ms: e.kind === 'close' ? now_ms : null,
      window_start_ms: w.window_start_ms,
      window_revision: w.revision,
      detail: describe(e),
    };
  }
}

function describe(e: TrafficAnomalyEvent | DetectorHealthEvent | OnsetEvent | IncidentEvent): string {
  if ('detail' in e && e.rule === 'incident') return e.detail;
  if ('detail' in e && e.rule === 'congestion_onset') {
    if (e.kind === 'open') return e.detail;
    return e.reason === 'arrived' ? `congestion arrived: ${e.detail}` : e.reason === 'gap' ? 'cleared (no data)' : `cleared: ${e.detail}`;
  }
  if ('detail' in e) return e.kind === 'close' ? `cleared${e.reason === 'gap' ? ' (no data)' : ''}: ${e.detail}` : e.detail;
  const fmt = (n: number | null) => (n === null ? 'n/a' : n.toFixed(1));
  const what = `${e.measure} ${fmt(e.value)} against a usual ${fmt(e.baseline?.median ?? null)} (score ${fmt(e.score)})`;
  return e.kind === 'close' ? `cleared${e.reason === 'gap' ? ' (no data)' : ''}: ${what}` : what;
}
