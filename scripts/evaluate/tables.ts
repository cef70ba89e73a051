/** Markdown tables of an `Evaluation`, as printed by `npm run evaluate` and pasted into docs/traffic-model.md. */
import type { DetectionScore } from './anomaly-eval.ts';
import { HINDSIGHT_BLEND, type ErrorRow } from './forecast-eval.ts';
import type { OnsetEvaluation, WarningScore } from './onset-eval.ts';
import type { WebtrisEvaluation } from './webtris-eval.ts';
import type { IncidentEvaluation } from './incident-eval.ts';
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

/** Detections, false alarms and NAB's score (standard profile; raw per series, normalised 0–100 in total). */
export function detectionTable(robust: readonly DetectionScore[], fixed: readonly DetectionScore[]): string {
  const nab = (r: DetectionScore): string => (r.normalised !== undefined ? `${r.normalised.toFixed(1)} (normalised)` : r.nab ? r.nab.raw.toFixed(2) : 'n/a');
  return table(
    ['series', 'labelled windows', 'robust: detected', 'robust: false alarms', 'robust: NAB score', 'fixed: detected', 'fixed: false alarms', 'fixed: NAB score'],
    robust.map((r, i) => [r.series, r.labelled, r.detected, r.false_alarms, nab(r), fixed[i]!.detected, fixed[i]!.false_alarms, nab(fixed[i]!)]),
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
    const cell = (m: string): string => {
      const r = by(m);
      const weights = r?.weights ? ` (${Object.values(r.weights).map((w) => w.toFixed(2)).join(' · ')})` : '';
      return `${fmt(r?.mae ?? NaN)} / ${fmt(r?.rmse ?? NaN)}${weights}`;
    };
    return [g[0]!.series, horizonLabel(g[0]!.horizon_ms), g[0]!.n, ...models.map(cell), beats, coverage];
  });
  const heading = (m: string): string => (m === HINDSIGHT_BLEND ? `${m} MAE / RMSE (weights: ${blendedNames(rows).join(' · ')})` : `${m} MAE / RMSE`);
  return table(['series', 'horizon', 'n', ...models.map(heading), 'combined beats the better baseline (MAE)', '80 % interval held the value'], body);
}

function blendedNames(rows: readonly ErrorRow[]): string[] {
  return Object.keys(rows.find((r) => r.weights)?.weights ?? {});
}

/** Onset warnings per station: the forecast-based rule central raises beside the naive "light now". */
export function onsetTable(rows: readonly OnsetEvaluation[]): string {
  const median = (xs: readonly number[]): string => (xs.length === 0 ? 'n/a' : `${xs[Math.floor((xs.length - 1) / 2)]!.toFixed(0)} min`);
  const cells = (w: WarningScore, r: OnsetEvaluation) => [`${w.warned} of ${r.onsets}`, median(w.leads_min), `${w.false_alarms} (${(w.false_alarms / r.days).toFixed(1)} a day)`];
  const total: OnsetEvaluation = rows.reduce((a, r) => ({
    station: 'total', windows_with_level: a.windows_with_level + r.windows_with_level, days: a.days + r.days, onsets: a.onsets + r.onsets,
    forecast: { warned: a.forecast.warned + r.forecast.warned, false_alarms: a.forecast.false_alarms + r.forecast.false_alarms, leads_min: [...a.forecast.leads_min, ...r.forecast.leads_min].sort((x, y) => x - y) },
    light_now: { warned: a.light_now.warned + r.light_now.warned, false_alarms: a.light_now.false_alarms + r.light_now.false_alarms, leads_min: [...a.light_now.leads_min, ...r.light_now.leads_min].sort((x, y) => x - y) },
  }), { station: 'total', windows_with_level: 0, days: 0, onsets: 0, forecast: { warned: 0, false_alarms: 0, leads_min: [] }, light_now: { warned: 0, false_alarms: 0, leads_min: [] } });
  return table(
    ['station', 'windows with a level', 'days', 'onsets', 'forecast: warned', 'forecast: median lead', 'forecast: false alarms', 'light now: warned', 'light now: median lead', 'light now: false alarms'],
    [...rows, total].map((r) => [r.station, r.windows_with_level, r.days.toFixed(1), r.onsets, ...cells(r.forecast, r), ...cells(r.light_now, r)]),
  );
}

/** The WebTRIS day: its speed means against its histogram, and the health rules on its volumes. */
export function webtrisTable(w: WebtrisEvaluation | undefined): string {
  if (!w) return 'not evaluated: data/real/webtris-a64/ was not read';
  const rules = ['no_hits', 'stuck_on', 'chatter', 'flat_line_speed_kmh'];
  return table(
    ['site', '15-min intervals', 'vehicles', 'report mean vs histogram mean: median gap', 'largest gap', '5-min windows judged', ...rules.map((r) => `${r} opened`)],
    [[w.site, w.intervals, w.vehicles, `${w.speed_gap_mph.median.toFixed(1)} mph (${w.speed_gap_mph.intervals} intervals)`, `${w.speed_gap_mph.max.toFixed(1)} mph`, w.windows, ...rules.map((r) => w.health_opened[r] ?? 0)]],
  );
}

/** The incident detector and the naive occupancy rule on the simulator's incidents. */
export function incidentTable(e: IncidentEvaluation): string {
  const median = (xs: readonly number[]): string => (xs.length === 0 ? 'n/a' : `${xs[Math.floor((xs.length - 1) / 2)]!.toFixed(0)} min`);
  return table(
    ['detector', 'incidents', 'queued', 'detected', 'detected of the queued', 'median time to detect', 'false alarms', 'per station per day'],
    e.rows.map((r) => [r.detector, r.incidents, r.queued, r.detected, `${r.detected_queued} of ${r.queued}`, median(r.times_min), r.false_alarms, (r.false_alarms / r.station_days).toFixed(3)]),
  );
}
