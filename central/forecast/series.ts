/**
 * Forecasters of one series (a station's speed, say) a fixed horizon ahead, fed one observation per step in
 * time order. Three models, so each is always measured against the two obvious ones:
 *
 * - `PersistenceForecaster`: the next value is the last one. Hard to beat at short horizons.
 * - `SeasonalForecaster`: the median of the same time of week (the anomaly baseline). Knows the daily shape,
 *   ignores what is happening now.
 * - `DeviationForecaster`: the profile at the target time plus the current deviation from the profile (the
 *   mean over the last `smooth_ms`), shrunk by a factor φ(h) fitted from history: φ(h) = Σ d(t)·d(t+h) / Σ d(t)²,
 *   the least-squares slope through the origin of later deviations on earlier ones, with exponential forgetting
 *   so it follows the station, blended with a prior that halves every `prior_half_life_ms` until pairs
 *   accumulate. An incident's slowdown persists a while and then fades back to the profile; φ(h) learns how fast.
 *
 * And `CombinedForecaster`, which weighs the three by their recent errors: the one central publishes.
 *
 * Pure and bounded: the baseline keeps `weeks_kept` weeks, the fit keeps sums, and only the deviations of the
 * last `max horizon` are held to pair with new ones. Walk-forward by construction: every figure at time t uses
 * observations before t only (an observation is scored against the profile, then added to it).
 */
import { RollingSample } from '../../platform/rolling-sample.ts';
import { zoneOffsetMinutes } from '../../platform/time-zones.ts';
import { TimeOfWeekBaseline, type BaselineOptions } from '../anomaly/baseline.ts';

export interface SeriesForecaster {
  readonly name: string;
  /** Feed the observation at `t_ms` (null when missing). Calls must come in increasing `t_ms`. */
  observe(t_ms: number, value: number | null): void;
  /** The value expected at (last observed time + horizon_ms), or null when there is nothing to go on. */
  forecast(horizon_ms: number): number | null;
}

export class PersistenceForecaster implements SeriesForecaster {
  readonly name = 'persistence';
  private last: number | null = null;
  observe(_t_ms: number, value: number | null): void {
    this.last = value;
  }
  forecast(_horizon_ms: number): number | null {
    return this.last;
  }
}

export class SeasonalForecaster implements SeriesForecaster {
  readonly name = 'same time of week';
  private readonly baseline: TimeOfWeekBaseline;
  private last_ms: number | null = null;
  constructor(baseline: BaselineOptions) {
    this.baseline = new TimeOfWeekBaseline(baseline);
  }
  observe(t_ms: number, value: number | null): void {
    this.baseline.add(t_ms, value);
    this.last_ms = t_ms;
  }
  forecast(horizon_ms: number): number | null {
    return this.last_ms === null ? null : (this.baseline.stats(this.last_ms + horizon_ms)?.median ?? null);
  }
}

export interface DeviationOptions {
  baseline: BaselineOptions;
  /** Horizons φ is fitted for; `forecast` accepts only these. Multiples of the series step. */
  horizons_ms: readonly number[];
  /** Half-life of the fit's memory, in time (older pairs weigh half as much per half-life). */
  fit_half_life_ms: number;
  /** Spacing of the series (300 000 for 5-minute windows): turns the half-life into a per-pair factor. */
  step_ms: number;
  /**
   * Span the deviation carried forward is averaged over (one step: no averaging). A single window's noise does
   * not last an hour; the mean of the last few windows' deviations holds what does.
   */
  smooth_ms: number;
  /**
   * The prior decay: φ₀(h) = 0.5^(h / prior_half_life_ms), a deviation that halves every half-life. It stands
   * before any pairs are seen, and is blended with the fit by weight `prior_pairs`:
   * φ = (pairs · fitted + prior_pairs · φ₀) / (pairs + prior_pairs).
   */
  prior_half_life_ms: number;
  prior_pairs: number;
}

interface Fit {
  sxy: number;
  sxx: number;
  pairs: number;
}

export class DeviationForecaster implements SeriesForecaster {
  readonly name = 'profile + decayed deviation';
  private readonly baseline: TimeOfWeekBaseline;
  private readonly fits = new Map<number, Fit>();
  /** Deviations of the last max-horizon, by time, to pair with later ones. */
  private readonly recent = new Map<number, number>();
  /** Raw deviations within the smoothing span. */
  private readonly raw = new Map<number, number>();
  private readonly forget: number;
  private readonly max_h: number;
  private last: { t_ms: number; value: number | null; deviation: number | null } | null = null;

  readonly options: Readonly<DeviationOptions>;

  constructor(options: DeviationOptions) {
    this.options = Object.freeze({ ...options });
    this.baseline = new TimeOfWeekBaseline(options.baseline);
    this.forget = Math.pow(0.5, options.step_ms / options.fit_half_life_ms);
    this.max_h = Math.max(...options.horizons_ms);
    for (const h of options.horizons_ms) this.fits.set(h, { sxy: 0, sxx: 0, pairs: 0 });
  }

  observe(t_ms: number, value: number | null): void {
    const profile = value === null ? null : (this.baseline.stats(t_ms)?.median ?? null);
    const raw = value === null || profile === null ? null : value - profile;
    let deviation: number | null = null;
    if (raw !== null) {
      this.raw.set(t_ms, raw);
      // The deviation carried forward: the mean of the raw ones over the smoothing span, so one noisy window
      // is not projected an hour ahead. The fit pairs it with the raw deviation h later.
      let sum = 0;
      let n = 0;
      for (const [t, d] of this.raw) if (t > t_ms - this.options.smooth_ms) (sum += d), n++;
      deviation = sum / n;
      for (const [h, fit] of this.fits) {
        const earlier = this.recent.get(t_ms - h);
        if (earlier === undefined) continue;
        fit.sxy = fit.sxy * this.forget + earlier * raw;
        fit.sxx = fit.sxx * this.forget + earlier * earlier;
        fit.pairs += 1;
      }
      this.recent.set(t_ms, deviation);
    }
    for (const t of this.recent.keys()) if (t < t_ms - this.max_h) this.recent.delete(t);
    for (const t of this.raw.keys()) if (t <= t_ms - this.options.smooth_ms) this.raw.delete(t);
    this.baseline.add(t_ms, value);
    this.last = { t_ms, value, deviation };
  }

  /** The fitted decay for a horizon, clamped to [0, 1]: a deviation neither grows nor flips sign. */
  phi(horizon_ms: number): number {
    const fit = this.fits.get(horizon_ms);
    if (!fit) throw new RangeError(`horizon ${horizon_ms} ms was not configured`);
    const prior = Math.pow(0.5, horizon_ms / this.options.prior_half_life_ms);
    if (fit.sxx <= 0) return prior;
    const fitted = Math.min(1, Math.max(0, fit.sxy / fit.sxx));
    return (fit.pairs * fitted + this.options.prior_pairs * prior) / (fit.pairs + this.options.prior_pairs);
  }

  /** Persistence, the profile at the target time, and this model's forecast, for a `CombinedForecaster`. */
  components(horizon_ms: number): Components {
    const phi = this.phi(horizon_ms);
    if (this.last === null) return { persistence: null, profile: null, deviation: null };
    const { value, deviation } = this.last;
    const profile = this.baseline.stats(this.last.t_ms + horizon_ms)?.median ?? null;
    // No profile: persistence, the best there is without history. Nothing observed now: the profile alone.
    // Observed, but no profile now to measure a deviation from: persistence again.
    const forecast = profile === null || deviation === null ? (value ?? profile) : profile + phi * deviation;
    return { persistence: value, profile, deviation: forecast };
  }

  forecast(horizon_ms: number): number | null {
    return this.components(horizon_ms).deviation;
  }
}

/** The three forecasts a `CombinedForecaster` weighs, each null when it has nothing to go on. */
export interface Components {
  persistence: number | null;
  profile: number | null;
  deviation: number | null;
}
const COMPONENTS = ['persistence', 'profile', 'deviation'] as const;

export interface CombinedOptions extends DeviationOptions {
  /** Half-life, in time, of the error memory the weights come from: recent errors count most. */
  error_half_life_ms: number;
  /** Weights are (recent mean absolute error)^−sharpness: 1 is Bates–Granger's inverse error, ∞ picks the best. */
  sharpness: number;
  /** Scored forecasts a horizon (or a time-of-day bucket of it) needs before its own weights are used. */
  min_scored: number;
  /** Buckets the local day is cut into for separate weights (1 = one set per horizon). */
  time_of_day_buckets: number;
  /** Signed errors of the combined forecast kept per horizon, the interval's sample. */
  interval_errors: number;
  /** Central share of errors the interval covers, e.g. 0.8. */
  interval_coverage: number;
}

export interface Interval {
  low: number;
  high: number;
}

interface ErrorMemory {
  /** Exponentially weighted mean absolute error per component (index as COMPONENTS). */
  mae: [number, number, number];
  scored: number;
}

interface Issued {
  components: Components;
  combined: number;
}

/**
 * Persistence, the time-of-week profile and the profile plus decayed deviation, weighted by how well each has
 * done lately: each weighs (its recent mean absolute error)^−sharpness, per horizon and (optionally) time of
 * day, normalised over the forecasts present (inverse-error weights after Bates and Granger, 1969; absolute
 * error because that is what the forecasts are judged on, and a sharpness above 1 so a clearly worse model
 * fades instead of keeping a third of the say). Errors come from this forecaster's own earlier forecasts as
 * their targets arrive, so the weights move with the station: persistence gains on a steady night, the
 * profile through a regular peak, the deviation while a slowdown lasts.
 *
 * The interval is empirical: the forecast plus the (1 − c)/2 and (1 + c)/2 quantiles of the combined
 * forecast's own recent signed errors at that horizon. No distribution is assumed; its coverage is measured.
 */
export class CombinedForecaster implements SeriesForecaster {
  readonly name = 'combined';
  readonly options: Readonly<CombinedOptions>;
  private readonly model: DeviationForecaster;
  private readonly forget: number;
  /** Per horizon: error memory by time-of-day bucket, and the horizon-wide one at index `buckets`. */
  private readonly errors = new Map<number, ErrorMemory[]>();
  private readonly issued = new Map<number, Map<number, Issued>>();
  /** Per horizon: the combination's last signed errors, kept sorted for the interval's quantiles. */
  private readonly residuals = new Map<number, RollingSample>();
  private last_ms: number | null = null;

  constructor(options: CombinedOptions) {
    this.options = Object.freeze({ ...options });
    this.model = new DeviationForecaster(options);
    this.forget = Math.pow(0.5, options.step_ms / options.error_half_life_ms);
    for (const h of options.horizons_ms) {
      this.errors.set(h, Array.from({ length: options.time_of_day_buckets + 1 }, () => ({ mae: [0, 0, 0], scored: 0 })));
      this.issued.set(h, new Map());
      this.residuals.set(h, new RollingSample(options.interval_errors));
    }
  }

  observe(t_ms: number, value: number | null): void {
    if (value !== null) this.score(t_ms, value);
    this.model.observe(t_ms, value);
    this.last_ms = t_ms;
    for (const h of this.options.horizons_ms) {
      const issued = this.issued.get(h)!;
      for (const target of issued.keys()) if (target <= t_ms) issued.delete(target);
      const components = this.model.components(h);
      const combined = this.combine(h, t_ms + h, components);
      if (combined !== null) issued.set(t_ms + h, { components, combined });
    }
  }

  forecast(horizon_ms: number): number | null {
    if (this.last_ms === null) return null;
    return this.issued.get(horizon_ms)?.get(this.last_ms + horizon_ms)?.combined ?? null;
  }

  /** The interval around `forecast(horizon_ms)`, once `min_scored` errors at that horizon are known. */
  interval(horizon_ms: number): Interval | null {
    const f = this.forecast(horizon_ms);
    const r = this.residuals.get(horizon_ms);
    if (f === null || !r || r.size < this.options.min_scored) return null;
    const tail = (1 - this.options.interval_coverage) / 2;
    return { low: f + r.quantile(tail), high: f + r.quantile(1 - tail) };
  }

  /** The weights the next forecast at this horizon gives persistence, profile and deviation (for display). */
  weights(horizon_ms: number): Record<keyof Components, number> | null {
    if (this.last_ms === null) return null;
    const w = this.weightsAt(horizon_ms, this.last_ms + horizon_ms, this.model.components(horizon_ms));
    return w && { persistence: w[0], profile: w[1], deviation: w[2] };
  }

  private score(t_ms: number, actual: number): void {
    for (const h of this.options.horizons_ms) {
      const made = this.issued.get(h)!.get(t_ms);
      if (!made) continue;
      this.residuals.get(h)!.push(actual - made.combined);
      // Weights learn only from targets where all three had a forecast, so they compare like with like.
      const values = COMPONENTS.map((c) => made.components[c]);
      if (values.some((v) => v === null)) continue;
      const memories = this.errors.get(h)!;
      for (const m of [memories[this.bucket(t_ms)]!, memories[this.options.time_of_day_buckets]!]) {
        values.forEach((v, i) => (m.mae[i] = m.mae[i]! * this.forget + (1 - this.forget) * Math.abs(v! - actual)));
        m.scored += 1;
      }
    }
  }

  private bucket(t_ms: number): number {
    if (this.options.time_of_day_buckets === 1) return 0;
    const local = t_ms + zoneOffsetMinutes(t_ms, this.options.baseline.time_zone) * 60_000;
    const day_ms = 86_400_000;
    return Math.floor((((local % day_ms) + day_ms) % day_ms) / (day_ms / this.options.time_of_day_buckets));
  }

  private weightsAt(h: number, target_ms: number, c: Components): [number, number, number] | null {
    const memories = this.errors.get(h)!;
    const own = memories[this.bucket(target_ms)]!;
    const memory = own.scored >= this.options.min_scored ? own : memories[this.options.time_of_day_buckets]!;
    // The deviation model has a forecast whenever any part has one (it falls back to persistence, then to the
    // profile). Until enough errors are known it speaks alone, being itself a blend of profile and persistence.
    if (c.deviation === null) return null;
    if (memory.scored < this.options.min_scored) return [0, 0, 1];
    const raw = COMPONENTS.map((k) => (c[k] === null ? 0 : Math.pow(Math.max(memory.mae[COMPONENTS.indexOf(k)]!, 1e-9), -this.options.sharpness)));
    const sum = raw.reduce((a, b) => a + b, 0);
    return raw.map((w) => w / sum) as [number, number, number];
  }

  private combine(h: number, target_ms: number, c: Components): number | null {
    const w = this.weightsAt(h, target_ms, c);
    if (!w) return null;
    return COMPONENTS.reduce((acc, k, i) => acc + (c[k] === null ? 0 : w[i]! * c[k]!), 0);
  }
}
