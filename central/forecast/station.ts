/**
 * Per-station forecasts of speed and occupancy 15, 30 and 60 minutes ahead, and the congestion level they
 * imply (central/classify/congestion.ts), from the station's own window history. Pure: `push` windows in time
 * order, ask `forecast`. One `DeviationForecaster` per station and measure (series.ts).
 *
 * Late and revised windows (start ≤ the newest seen for the key) are ignored here: the forecast is about the
 * future and the fitted decay pairs windows by time, so replaying one would count a pair twice. The anomaly
 * baseline, which is about history, does take revisions (traffic.ts).
 */
import type { Congestion } from '../../protocol/index.ts';
import { congestionOf } from '../classify/congestion.ts';
import { DEFAULT_BASELINE, type BaselineOptions } from '../anomaly/baseline.ts';
import type { WindowInput } from '../anomaly/types.ts';
import { DeviationForecaster } from './series.ts';

const MINUTE_MS = 60_000;

export interface StationForecastOptions {
  baseline: BaselineOptions;
  horizons_min: readonly number[];
  step_ms: number;
  fit_half_life_ms: number;
  min_pairs: number;
  prior_phi: number;
  /** Windows observed less than this are treated as missing. */
  min_observed_fraction: number;
}

export function defaultForecastOptions(time_zone: string): StationForecastOptions {
  return {
    baseline: { ...DEFAULT_BASELINE, time_zone },
    horizons_min: [15, 30, 60],
    step_ms: 5 * MINUTE_MS,
    fit_half_life_ms: 28 * 24 * 60 * MINUTE_MS, // four weeks: our choice, slow enough to be stable
    min_pairs: 288, // a day of 5-minute pairs before the fitted decay replaces the prior
    prior_phi: 0.5, // our choice: halfway between the profile and persistence until the fit has data
    min_observed_fraction: 0.5,
  };
}

export interface HorizonForecast {
  horizon_min: number;
  target_window_start_ms: number;
  speed_kmh: number | null;
  occupancy_pct: number | null;
  congestion: Congestion;
}

export interface StationForecast {
  key: string;
  /** The newest window the forecast is made from. */
  issued_window_start_ms: number;
  horizons: HorizonForecast[];
}

interface Models {
  speed: DeviationForecaster;
  occupancy: DeviationForecaster;
  last_ms: number;
}

export class StationForecaster {
  readonly options: Readonly<StationForecastOptions>;
  private readonly stations = new Map<string, Models>();

  constructor(options: StationForecastOptions) {
    for (const h of options.horizons_min) {
      if (!((h * MINUTE_MS) % options.step_ms === 0 && h > 0)) throw new RangeError(`horizon ${h} min is not a multiple of the step`);
    }
    this.options = Object.freeze({ ...options });
  }

  push(w: Readonly<WindowInput>): void {
    let m = this.stations.get(w.key);
    if (m && w.window_start_ms <= m.last_ms) return;
    if (!m) {
      const model = (): DeviationForecaster =>
        new DeviationForecaster({
          baseline: this.options.baseline,
          horizons_ms: this.options.horizons_min.map((h) => h * MINUTE_MS),
          fit_half_life_ms: this.options.fit_half_life_ms,
          step_ms: this.options.step_ms,
          min_pairs: this.options.min_pairs,
          prior_phi: this.options.prior_phi,
        });
      m = { speed: model(), occupancy: model(), last_ms: w.window_start_ms };
      this.stations.set(w.key, m);
    }
    const usable = w.observed_fraction >= this.options.min_observed_fraction;
    m.speed.observe(w.window_start_ms, usable ? w.speed_kmh : null);
    m.occupancy.observe(w.window_start_ms, usable ? w.occupancy_pct : null);
    m.last_ms = w.window_start_ms;
  }

  /** Forecasts from the newest window of `key`; null when the key was never seen. */
  forecast(key: string, free_flow_kmh: number): StationForecast | null {
    const m = this.stations.get(key);
    if (!m) return null;
    return {
      key,
      issued_window_start_ms: m.last_ms,
      horizons: this.options.horizons_min.map((horizon_min) => {
        const speed = m.speed.forecast(horizon_min * MINUTE_MS);
        const occupancy = m.occupancy.forecast(horizon_min * MINUTE_MS);
        const speed_kmh = speed === null ? null : Math.max(0, speed);
        const occupancy_pct = occupancy === null ? null : Math.min(100, Math.max(0, occupancy));
        return {
          horizon_min,
          target_window_start_ms: m.last_ms + horizon_min * MINUTE_MS,
          speed_kmh,
          occupancy_pct,
          congestion: congestionOf({ speed_kmh, occupancy_pct, volume: null }, free_flow_kmh),
        };
      }),
    };
  }

  /** The fitted decay φ for a key, measure and horizon (for publishing alongside the forecast). */
  phi(key: string, measure: 'speed_kmh' | 'occupancy_pct', horizon_min: number): number | null {
    const m = this.stations.get(key);
    if (!m) return null;
    return (measure === 'speed_kmh' ? m.speed : m.occupancy).phi(horizon_min * MINUTE_MS);
  }
}
