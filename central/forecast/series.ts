/**
 * Forecasters of one series (a station's speed, say) a fixed horizon ahead, fed one observation per step in
 * time order. Three, so the useful one is always measured against the two obvious ones:
 *
 * - `PersistenceForecaster`: the next value is the last one. Hard to beat at short horizons.
 * - `SeasonalForecaster`: the median of the same time of week (the anomaly baseline). Knows the daily shape,
 *   ignores what is happening now.
 * - `DeviationForecaster`: the profile at the target time plus today's deviation from the profile, shrunk by
 *   a factor φ(h) fitted from history: φ(h) = Σ d(t)·d(t+h) / Σ d(t)², the least-squares slope through the
 *   origin of later deviations on earlier ones, with exponential forgetting so it follows the station. An
 *   incident's slowdown persists a while and then fades back to the profile; φ(h) learns how fast.
 *
 * Pure and bounded: the baseline keeps `weeks_kept` weeks, the fit keeps sums, and only the deviations of the
 * last `max horizon` are held to pair with new ones. Walk-forward by construction: every figure at time t uses
 * observations before t only (an observation is scored against the profile, then added to it).
 */
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
  /** Pairs needed before the fitted φ is trusted; before that φ = `prior_phi`. */
  min_pairs: number;
  prior_phi: number;
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
    const deviation = value === null || profile === null ? null : value - profile;
    if (deviation !== null) {
      for (const [h, fit] of this.fits) {
        const earlier = this.recent.get(t_ms - h);
        if (earlier === undefined) continue;
        fit.sxy = fit.sxy * this.forget + earlier * deviation;
        fit.sxx = fit.sxx * this.forget + earlier * earlier;
        fit.pairs += 1;
      }
      this.recent.set(t_ms, deviation);
    }
    for (const t of this.recent.keys()) if (t < t_ms - this.max_h) this.recent.delete(t);
    this.baseline.add(t_ms, value);
    this.last = { t_ms, value, deviation };
  }

  /** The fitted decay for a horizon, clamped to [0, 1]: a deviation neither grows nor flips sign. */
  phi(horizon_ms: number): number {
    const fit = this.fits.get(horizon_ms);
    if (!fit) throw new RangeError(`horizon ${horizon_ms} ms was not configured`);
    if (fit.pairs < this.options.min_pairs || fit.sxx <= 0) return this.options.prior_phi;
    return Math.min(1, Math.max(0, fit.sxy / fit.sxx));
  }

  forecast(horizon_ms: number): number | null {
    const phi = this.phi(horizon_ms);
    if (this.last === null) return null;
    const profile = this.baseline.stats(this.last.t_ms + horizon_ms)?.median ?? null;
    // No profile yet: fall back to persistence, the best we can do without history.
    if (profile === null) return this.last.value;
    // Nothing observed now: the profile alone. Observed but no profile now: persistence again.
    if (this.last.value === null) return profile;
    return this.last.deviation === null ? this.last.value : profile + phi * this.last.deviation;
  }
}
