/**
 * NAB's score (Lavin and Ahmad, "Evaluating Real-time Anomaly Detection Algorithms — the Numenta Anomaly
 * Benchmark", 2015; the rules as NAB's scorer applies them), for detections made on a series' rows:
 *
 * - the first 15 % of the rows (at most 750) are probationary: detections there count for nothing, and a
 *   window that ends within them is not scored;
 * - in a labelled window, a detection scores tp_weight · σ(p) / σ(−1), p = −(right − i + 1) / width the row's
 *   place in the window (−1 at its left edge), σ(p) = 2 / (1 + e^(5p)) − 1: early detections score near 1,
 *   late ones near 0. Only a window's best detection counts; a window without one scores −fn_weight;
 * - outside a window, a detection is a false positive scoring fp_weight · σ(p), p = (i − right) / (width − 1)
 *   measured from the previous window's right edge (and 3, i.e. −1 after weighting, before any window): a
 *   false positive just after an anomaly costs less than one far from any;
 * - normalised over a set of series: 100 · (raw − null) / (perfect − null), where null detects nothing
 *   (−fn_weight per window) and perfect detects every window at its first row (tp_weight per window).
 *
 * The standard profile weighs a false positive at 0.11 of a miss. NAB scores the files' own rows; WacoFlow's
 * detectors see the 5-minute windows they are resampled to, so the rows here are those windows.
 */

export interface NabProfile {
  tp_weight: number;
  fp_weight: number;
  fn_weight: number;
}

export const NAB_STANDARD: Readonly<NabProfile> = Object.freeze({ tp_weight: 1, fp_weight: 0.11, fn_weight: 1 });
const PROBATION = 0.15;

const sigma = (p: number): number => (p >= 3 ? -1 : 2 / (1 + Math.exp(5 * p)) - 1);

export interface NabRaw {
  /** The series' raw score, and what detecting nothing and detecting every window at once would score. */
  raw: number;
  null_score: number;
  perfect: number;
}

/**
 * Raw score of `detections` (times) on a series whose rows start at `rows` (ascending), with labelled
 * windows [start, end] in the same time base. A window covers the rows from its start to its end.
 */
export function nabRaw(rows: readonly number[], detections: readonly number[], windows: ReadonlyArray<readonly [number, number]>, profile: NabProfile = NAB_STANDARD): NabRaw {
  const at = new Set(detections);
  const probation = Math.min(Math.floor(PROBATION * rows.length), PROBATION * 5000);
  const spans = windows
    .map(([a, b]) => ({ left: rows.findIndex((t) => t >= a), right: findLastIndex(rows, (t) => t <= b) }))
    .filter((w) => w.left >= 0 && w.right >= w.left && w.right >= probation); // a window wholly in probation is not scored
  const best = spans.map(() => -profile.fn_weight);
  let fp = 0;
  let prev: { right: number; width: number } | null = null;
  let w = 0;
  for (let i = 0; i < rows.length; i++) {
    while (w < spans.length && spans[w]!.right < i) {
      prev = { right: spans[w]!.right, width: spans[w]!.right - spans[w]!.left + 1 };
      w += 1;
    }
    if (i < probation || !at.has(rows[i]!)) continue;
    const span = spans[w];
    if (span && i >= span.left) {
      const width = span.right - span.left + 1;
      best[w] = Math.max(best[w]!, (profile.tp_weight * sigma(-(span.right - i + 1) / width)) / sigma(-1));
    } else {
      fp += profile.fp_weight * sigma(prev === null ? 3 : Math.abs(i - prev.right) / Math.max(1, prev.width - 1));
    }
  }
  return { raw: best.reduce((a, b) => a + b, 0) + fp, null_score: -profile.fn_weight * spans.length, perfect: profile.tp_weight * spans.length };
}

/** The normalised score of several series together: 0 detects nothing, 100 is perfect. */
export function nabNormalised(parts: readonly NabRaw[]): number {
  const sum = (k: keyof NabRaw) => parts.reduce((a, p) => a + p[k], 0);
  const span = sum('perfect') - sum('null_score');
  return span === 0 ? Number.NaN : (100 * (sum('raw') - sum('null_score'))) / span;
}

function findLastIndex<T>(xs: readonly T[], f: (x: T) => boolean): number {
  for (let i = xs.length - 1; i >= 0; i--) if (f(xs[i]!)) return i;
  return -1;
}
