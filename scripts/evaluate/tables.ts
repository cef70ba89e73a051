/** Markdown tables of an `Evaluation`, as printed by `npm run evaluate` and pasted into docs/traffic-model.md. */
import type { DetectionScore } from './anomaly-eval.ts';
import type { ErrorRow } from './forecast-eval.ts';
import type { Evaluation } from './run.ts';

function table(header: string[], rows: Array<Array<string | number>>): string {
  const line = (cells: Array<string | number>): string => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

const day = (t_ms: number): string => new Date(t_ms).toISOString().slice(0, 16).replace('T', ' ');
const fmt = (x: number): string => (Number.isFinite(x) ? x.toFixed(2) : 'n/a');

export function seriesTable(e: Evaluation): string {
  return table(
    ['series', 'readings', '5-min windows', 'windows holding > 1 reading', 'first window (UTC)', 'last window (UTC)'],
    e.series.map((s) => [s.series, s.readings, s.windows, s.merged_windows, day(s.first_ms), day(s.last_ms)]),
  );
}

export function detectionTable(robust: readonly DetectionScore[], fixed: readonly DetectionScore[]): string {
  return table(
    ['series', 'labelled windows', 'robust: detected', 'robust: false alarms', 'fixed: detected', 'fixed: false alarms'],
    robust.map((r, i) => [r.series, r.labelled, r.detected, r.false_alarms, fixed[i]!.detected, fixed[i]!.false_alarms]),
  );
}

export function healthTable(e: Evaluation): string {
  const rules = ['stuck_on', 'flat_line_speed_kmh', 'flat_line_occupancy_pct'];
  return table(
    ['station', 'windows', ...rules.map((r) => `${r} opened`)],
    e.health.map((h) => [h.station, h.windows, ...rules.map((r) => h.opened[r] ?? 0)]),
  );
}

function horizonLabel(ms: number): string {
  return ms >= 3_600_000 ? `${ms / 3_600_000} h` : `${ms / 60_000} min`;
}

/** The models the combination must beat: the two obvious forecasts. */
export const BASELINE_MODELS = ['persistence', 'same time of week'] as const;
export const PUBLISHED_MODEL = 'combined';

/** Whether the published model's MAE is below the better baseline's, and by how much. */
export function beatsBetterBaseline(group: readonly ErrorRow[]): { beats: boolean; by_pct: number } | null {
  const own = group.find((r) => r.model === PUBLISHED_MODEL);
  const best = Math.min(...group.filter((r) => (BASELINE_MODELS as readonly string[]).includes(r.model)).map((r) => r.mae));
  if (!own || !Number.isFinite(own.mae) || !Number.isFinite(best)) return null;
  return { beats: own.mae < best, by_pct: (100 * (best - own.mae)) / best };
}

/**
 * One row per series and horizon: n, then MAE / RMSE of each model, then whether the combined forecast beats
 * the better of persistence and same time of week (by MAE), and how often the truth fell inside its interval.
 */
export function forecastTable(rows: readonly ErrorRow[]): string {
  const groups = new Map<string, ErrorRow[]>();
  for (const r of rows) {
    const k = `${r.series}\u0000${r.horizon_ms}`;
    groups.set(k, [...(groups.get(k) ?? []), r]);
  }
  const models = [...new Set(rows.map((r) => r.model))];
  const body = [...groups.values()].map((g) => {
    const by = (m: string): ErrorRow | undefined => g.find((r) => r.model === m);
    const verdict = beatsBetterBaseline(g);
    const beats = verdict === null ? 'n/a' : `${verdict.beats ? 'yes' : 'no'}, ${Math.abs(verdict.by_pct).toFixed(1)} % ${verdict.by_pct >= 0 ? 'lower' : 'higher'}`;
    const cov = by(PUBLISHED_MODEL)?.coverage;
    const coverage = cov && cov.of > 0 ? `${((100 * cov.inside) / cov.of).toFixed(1)} % of ${cov.of}` : 'n/a';
    return [g[0]!.series, horizonLabel(g[0]!.horizon_ms), g[0]!.n, ...models.map((m) => `${fmt(by(m)?.mae ?? NaN)} / ${fmt(by(m)?.rmse ?? NaN)}`), beats, coverage];
  });
  return table(['series', 'horizon', 'n', ...models.map((m) => `${m} MAE / RMSE`), 'combined beats the better baseline (MAE)', '80 % interval held the value'], body);
}
