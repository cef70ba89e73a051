/**
 * Per-station forecasts of speed and occupancy 15, 30 and 60 minutes ahead, and the congestion level they
 * imply (central/classify/congestion.ts), from the station's own window history. Pure: `push` windows in time
 * order, ask `forecast`. One `CombinedForecaster` per station and measure (series.ts), so each horizon comes
 * with its interval.
 *
 * Late and revised windows (start ≤ the newest seen for the key) are ignored here: the forecast is about the
 * future and the fitted decay pairs windows by time, so replaying one would count a pair twice. The anomaly
 * baseline, which is about history, does take revisions (traffic.ts).
 */
import type { Congestion } from '../../protocol/index.ts';
import { congestionOf } from '../classify/congestion.ts';
import { DEFAULT_BASELINE } from '../anomaly/baseline.ts';
import type { WindowInput } from '../anomaly/types.ts';
import { CombinedForecaster, type CombinedOptions, type Interval } from './series.ts';

const MINUTE_MS = 60_000;

/** The combination's settings (series.ts), with horizons in minutes, and what counts as an observed window. */
export interface StationForecastOptions extends Omit<CombinedOptions, 'horizons_ms'> {
  horizons_min: readonly number[];
  /** Windows observed less than this are treated as missing. */
  min_observed_fraction: number;
}

export function defaultForecastOptions(time_zone: string): StationForecastOptions {
  return {
    baseline: { ...DEFAULT_BASELINE, time_zone },
    horizons_min: [15, 30, 60],
    step_ms: 5 * MINUTE_MS,
    fit_half_life_ms: 28 * 24 * 60 * MINUTE_MS, // four weeks: our choice, slow enough to be stable
    smooth_ms: 15 * MINUTE_MS, // the deviation carried forward: the mean of the last three windows' (our choice)
    prior_half_life_ms: 20 * MINUTE_MS, // until pairs accumulate, a deviation halves every 20 minutes (our choice)
    prior_pairs: 288, // the prior weighs as much as a day of 5-minute pairs
    error_half_life_ms: 24 * 60 * MINUTE_MS, // the combination's weights follow the last day or so of errors
    sharpness: 4, // weights ∝ MAE⁻⁴: a model with twice the error gets a sixteenth of the weight
    min_scored: 50, // scored forecasts before the weights (and an interval) are given; before, the deviation model alone
    time_of_day_buckets: 1, // one set of weights per horizon: four six-hour sets did no better on the real series
    interval_errors: 2016, // a week of 5-minute errors per horizon for the interval
    interval_coverage: 0.8,
    min_observed_fraction: 0.5,
  };
}

export interface HorizonForecast {
  horizon_min: number;
  target_window_start_ms: number;
  speed_kmh: number | null;
  occupancy_pct: number | null;
  /** Where the value is expected with `interval_coverage` probability; null until enough forecasts were scored. */
  speed_interval: Interval | null;
  occupancy_interval: Interval | null;
  congestion: Congestion;
  /** The level at the intervals' worse end (low speed, high occupancy): what about one time in ten looks like. */
  worse_congestion: Congestion;
}

export interface StationForecast {
  key: string;
  /** The newest window the forecast is made from. */
  issued_window_start_ms: number;
  horizons: HorizonForecast[];
}

interface Models {
  speed: CombinedForecaster;
  occupancy: CombinedForecaster;
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
      const { horizons_min, min_observed_fraction: _, ...rest } = this.options;
      const model = (): CombinedForecaster => new CombinedForecaster({ ...rest, horizons_ms: horizons_min.map((h) => h * MINUTE_MS) });
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
        const occupancy_pct = occupancy === null ? null : clampPct(occupancy);
        const si = m.speed.interval(horizon_min * MINUTE_MS);
        const oi = m.occupancy.interval(horizon_min * MINUTE_MS);
        return {
          horizon_min,
          target_window_start_ms: m.last_ms + horizon_min * MINUTE_MS,
          speed_kmh,
          occupancy_pct,
          speed_interval: si && { low: Math.max(0, si.low), high: Math.max(0, si.high) },
          occupancy_interval: oi && { low: clampPct(oi.low), high: clampPct(oi.high) },
          congestion: congestionOf({ speed_kmh, occupancy_pct, volume: null }, free_flow_kmh),
          worse_congestion: congestionOf({ speed_kmh: si ? Math.max(0, si.low) : speed_kmh, occupancy_pct: oi ? clampPct(oi.high) : occupancy_pct, volume: null }, free_flow_kmh),
        };
      }),
    };
  }

}

const clampPct = (x: number): number => Math.min(100, Math.max(0, x));
