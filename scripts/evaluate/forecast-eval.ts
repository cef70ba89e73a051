/**
 * Walk-forward forecast evaluation. The series is walked on its regular grid (5-minute windows, or hours),
 * missing steps observed as null, so every model sees exactly what central would have seen by then. At each
 * step with a value every model issues a forecast for each horizon; when the target step arrives with a value,
 * the errors are recorded, but only where every model had a forecast, so all models are scored on the same
 * targets (the same-time-of-week model needs some history first, which shrinks the common set).
 *
 * Optionally it also reports the best fixed blend of some of the models, chosen in hindsight: the convex weights
 * (on a grid of `BLEND_STEP`) whose blended forecast has the lowest MAE over the very targets it is scored on. No
 * forecaster could know those weights in advance, so it is not a model but a yardstick: where even it barely
 * beats a baseline, no fixed weighting of the blended models does better there, and weights that move with time
 * would have to find their gain in when each model is right, not in how much each is trusted overall.
 */
import type { Interval, SeriesForecaster } from '../../central/forecast/series.ts';
import type { Point } from './load.ts';

/** A forecaster that may also give an interval around its forecast (the combined one does). */
type Model = SeriesForecaster & { interval?: (horizon_ms: number) => Interval | null };

export interface ModelFactory {
  name: string;
  make: () => Model;
}

export interface ErrorRow {
  series: string;
  horizon_ms: number;
  model: string;
  /** Targets scored (the same for every model of a series and horizon). */
  n: number;
  mae: number;
  rmse: number;
  /** For a model with intervals: the share of scored targets inside the interval it gave, and how many had one. */
  coverage?: { inside: number; of: number };
  /** For the hindsight blend: its weight per blended model, by name. */
  weights?: Record<string, number>;
}

/** The model name of the hindsight blend's rows. */
export const HINDSIGHT_BLEND = 'best fixed blend, in hindsight';
/** Grid spacing of the hindsight blend's weights. */
export const BLEND_STEP = 0.05;

interface Pending {
  horizon_ms: number;
  forecasts: number[];
  intervals: (Interval | null)[];
}

export function walkForward(
  series: string,
  points: readonly Point[],
  step_ms: number,
  horizons_ms: readonly number[],
  factories: readonly ModelFactory[],
  blend: readonly string[] = [],
): ErrorRow[] {
  const blended = blend.map((name) => {
    const i = factories.findIndex((f) => f.name === name);
    if (i < 0) throw new Error(`walkForward: blend names ${name}, which is not one of the models (${factories.map((f) => f.name).join(', ')})`);
    return i;
  });
  /** Per horizon, for the hindsight blend: each scored target's actual value and the blended models' forecasts. */
  const scored = new Map<number, number[][]>(horizons_ms.map((h) => [h, []]));
  const models = factories.map((f) => f.make());
  const byTime = new Map(points.map((p) => [p.t_ms, p.value]));
  const pending = new Map<number, Pending[]>();
  const sums = new Map<number, { n: number; abs: number[]; sq: number[]; inside: number[]; of: number[] }>();
  const zeros = () => models.map(() => 0);
  for (const h of horizons_ms) sums.set(h, { n: 0, abs: zeros(), sq: zeros(), inside: zeros(), of: zeros() });
  if (points.length === 0) return [];

  const first = points[0]!.t_ms;
  const last = points[points.length - 1]!.t_ms;
  for (let t = first; t <= last; t += step_ms) {
    const actual = byTime.get(t);
    const due = pending.get(t);
    if (due && actual !== undefined) {
      for (const d of due) {
        const s = sums.get(d.horizon_ms)!;
        s.n += 1;
        if (blended.length > 0) scored.get(d.horizon_ms)!.push([actual, ...blended.map((i) => d.forecasts[i]!)]);
        d.forecasts.forEach((f, i) => {
          s.abs[i]! += Math.abs(f - actual);
          s.sq[i]! += (f - actual) ** 2;
          const iv = d.intervals[i];
          if (iv) {
            s.of[i]! += 1;
            if (actual >= iv.low && actual <= iv.high) s.inside[i]! += 1;
          }
        });
      }
    }
    pending.delete(t);
    for (const m of models) m.observe(t, actual ?? null);
    if (actual === undefined) continue;
    for (const h of horizons_ms) {
      const forecasts = models.map((m) => m.forecast(h));
      if (forecasts.some((f) => f === null)) continue;
      const list = pending.get(t + h) ?? [];
      list.push({ horizon_ms: h, forecasts: forecasts as number[], intervals: models.map((m) => m.interval?.(h) ?? null) });
      pending.set(t + h, list);
    }
  }

  const rows: ErrorRow[] = [];
  for (const h of horizons_ms) {
    const s = sums.get(h)!;
    factories.forEach((f, i) => {
      rows.push({
        series,
        horizon_ms: h,
        model: f.name,
        n: s.n,
        mae: s.n === 0 ? Number.NaN : s.abs[i]! / s.n,
        rmse: s.n === 0 ? Number.NaN : Math.sqrt(s.sq[i]! / s.n),
        ...(models[i]!.interval ? { coverage: { inside: s.inside[i]!, of: s.of[i]! } } : {}),
      });
    });
    if (blended.length > 0 && s.n > 0) rows.push({ series, horizon_ms: h, model: HINDSIGHT_BLEND, n: s.n, ...bestBlend(scored.get(h)!, blend) });
  }
  return rows;
}

/** Every weight vector of `k` non-negative multiples of BLEND_STEP summing to one. */
function simplexGrid(k: number): number[][] {
  const steps = Math.round(1 / BLEND_STEP);
  const out: number[][] = [];
  const walk = (prefix: number[], left: number): void => {
    if (prefix.length === k - 1) return void out.push([...prefix, left].map((u) => u / steps));
    for (let u = 0; u <= left; u++) walk([...prefix, u], left - u);
  };
  walk([], steps);
  return out;
}

/** The grid's weights with the lowest MAE on `targets` (each [actual, ...forecasts]); the first such on a tie. */
export function bestBlend(targets: readonly number[][], names: readonly string[]): Pick<ErrorRow, 'mae' | 'rmse' | 'weights'> {
  let best = { mae: Number.POSITIVE_INFINITY, rmse: Number.NaN, w: [] as number[] };
  for (const w of simplexGrid(names.length)) {
    let abs = 0;
    let sq = 0;
    for (const [actual, ...f] of targets) {
      let blend = 0;
      for (let i = 0; i < w.length; i++) blend += w[i]! * f[i]!;
      abs += Math.abs(blend - actual!);
      sq += (blend - actual!) ** 2;
    }
    const mae = abs / targets.length;
    if (mae < best.mae) best = { mae, rmse: Math.sqrt(sq / targets.length), w };
  }
  return { mae: best.mae, rmse: best.rmse, weights: Object.fromEntries(names.map((n, i) => [n, best.w[i]!])) };
}
