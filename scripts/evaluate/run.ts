/**
 * The evaluation as one pure function of the data files' text, so the script prints it and a test runs the
 * very same code. Every choice of the evaluation (series, thresholds, horizons) is here.
 */
import { defaultTrafficOptions, type TrafficAnomalyOptions } from '../../central/anomaly/traffic.ts';
import { DetectorHealthMonitor, defaultHealthOptions } from '../../central/anomaly/detector-health.ts';
import type { BaselineOptions } from '../../central/anomaly/baseline.ts';
import { CombinedForecaster, DeviationForecaster, PersistenceForecaster, SeasonalForecaster } from '../../central/forecast/series.ts';
import { defaultForecastOptions } from '../../central/forecast/station.ts';
import { evaluateAnomalies, type AnomalyEvaluation, type FixedThresholds, type LabelledSeries } from './anomaly-eval.ts';
import { walkForward, type ErrorRow, type ModelFactory } from './forecast-eval.ts';
import { evaluateOnsets, type OnsetEvaluation } from './onset-eval.ts';
import { evaluateWebtris, type WebtrisEvaluation } from './webtris-eval.ts';
import { evaluateIncidents, type IncidentEvaluation } from './incident-eval.ts';
import { HOUR_MS, WINDOW_MS, nabLabels, parseI94Csv, parseNabCsv, parseWebtrisCsv, resample, type Point } from './load.ts';

export const TIME_ZONE = 'America/Chicago';

/** The labelled MnDOT series and what each measures. */
export const NAB_SERIES = [
  { file: 'speed_6005.csv', measure: 'speed_kmh' },
  { file: 'occupancy_6005.csv', measure: 'occupancy_pct' },
  { file: 'speed_t4013.csv', measure: 'speed_kmh' },
  { file: 'occupancy_t4013.csv', measure: 'occupancy_pct' },
  { file: 'speed_7578.csv', measure: 'speed_kmh' },
] as const;

export const FORECAST_SERIES = ['speed_6005.csv', 'speed_t4013.csv', 'speed_7578.csv'] as const;

/** Our choice for the naive baseline: the `moderate` occupancy bound of congestion.ts and a plain 50 km/h. */
export const FIXED: FixedThresholds = { speed_below_kmh: 50, occupancy_above_pct: 25 };

export interface DataFiles {
  /** NAB CSV text by file name. */
  nab: Record<string, string>;
  /** anomaly_windows.json, parsed. */
  nab_windows: unknown;
  /** The I-94 CSV text; evaluation of it is skipped when absent. */
  i94?: string;
  /** The WebTRIS A64 day (UK time); skipped when absent. */
  webtris?: string;
}

export interface SeriesInfo {
  series: string;
  readings: number;
  windows: number;
  merged_windows: number;
  first_ms: number;
  last_ms: number;
}

/** Health alerts opened per station and rule on the MnDOT data, which carry no fault labels. */
export interface HealthCount {
  station: string;
  windows: number;
  opened: Record<string, number>;
}

export interface Evaluation {
  series: SeriesInfo[];
  anomalies: AnomalyEvaluation;
  health: HealthCount[];
  forecasts: ErrorRow[];
  onsets: OnsetEvaluation[];
  /** The incident detector on the simulator's incidents (no real incident log is available). */
  incidents: IncidentEvaluation;
  webtris?: WebtrisEvaluation;
  i94?: { rows: number; hours: number; duplicate_rows: number; first_ms: number; last_ms: number };
}

export function anomalyOptions(): TrafficAnomalyOptions {
  return defaultTrafficOptions(TIME_ZONE);
}

/**
 * The two baselines, the deviation model, and the combination central publishes, with central's own settings
 * (central/forecast/station.ts) for everything but the series' step, profile and horizons.
 */
function factories(baseline: BaselineOptions, horizons_ms: number[], step_ms: number): ModelFactory[] {
  const { horizons_min: _, min_observed_fraction: __, ...central } = defaultForecastOptions(TIME_ZONE);
  const options = { ...central, baseline, horizons_ms, step_ms, smooth_ms: Math.max(step_ms, central.smooth_ms) };
  return [
    { name: 'persistence', make: () => new PersistenceForecaster() },
    { name: 'same time of week', make: () => new SeasonalForecaster(baseline) },
    { name: 'profile + decayed deviation', make: () => new DeviationForecaster(options) },
    { name: 'combined', make: () => new CombinedForecaster(options) },
  ];
}

/** The models whose best fixed blend in hindsight each forecast row reports: what no fixed weighting of them beats. */
export const BLENDED_MODELS = ['persistence', 'same time of week', 'profile + decayed deviation'] as const;

export const ONSET_STATIONS = ['6005', 't4013'] as const;

export const MNDOT_HORIZONS_MS = [15, 30, 60].map((m) => m * 60_000);
/** Hourly data: one step is the nearest meaningful horizon to 60 minutes. */
export const I94_HORIZONS_MS = [HOUR_MS];

export function runEvaluation(files: DataFiles, i94_last_hours?: number): Evaluation {
  const series: SeriesInfo[] = [];
  const windowsOf = new Map<string, Point[]>();
  for (const { file } of NAB_SERIES) {
    const text = files.nab[file];
    if (text === undefined) throw new Error(`missing data file ${file}`);
    const r = resample(parseNabCsv(text, TIME_ZONE), WINDOW_MS);
    windowsOf.set(file, r.windows);
    series.push({
      series: file,
      readings: r.readings,
      windows: r.windows.length,
      merged_windows: r.merged_windows,
      first_ms: r.windows[0]!.t_ms,
      last_ms: r.windows[r.windows.length - 1]!.t_ms,
    });
  }

  const labelled: LabelledSeries[] = NAB_SERIES.map(({ file, measure }) => ({
    name: file,
    measure,
    windows: windowsOf.get(file)!,
    labels: nabLabels(files.nab_windows, file, TIME_ZONE),
  }));
  const options = anomalyOptions();
  const anomalies = evaluateAnomalies(labelled, options, FIXED);

  const fiveMin = factories(options.baseline, MNDOT_HORIZONS_MS, WINDOW_MS);
  const forecasts = FORECAST_SERIES.flatMap((f) => walkForward(f, windowsOf.get(f)!, WINDOW_MS, MNDOT_HORIZONS_MS, fiveMin, BLENDED_MODELS));

  // The stations with both speed and occupancy, so the congestion level is the one central would compute.
  const onsets = ONSET_STATIONS.map((st) => evaluateOnsets(st, windowsOf.get(`speed_${st}.csv`)!, windowsOf.get(`occupancy_${st}.csv`)!, WINDOW_MS, TIME_ZONE));
  const out: Evaluation = { series, anomalies, forecasts, onsets, incidents: evaluateIncidents(), health: healthCounts(windowsOf) };
  if (files.webtris !== undefined) out.webtris = evaluateWebtris('A64 site 6867', parseWebtrisCsv(files.webtris, 'Europe/London'), 'Europe/London');
  if (files.i94 !== undefined) {
    const i94 = parseI94Csv(files.i94, TIME_ZONE);
    const points = i94_last_hours === undefined ? i94.points : i94.points.slice(-i94_last_hours);
    const hourly: BaselineOptions = { time_zone: TIME_ZONE, slot_ms: HOUR_MS, neighbour_slots: 0, min_history: 3, weeks_kept: 8, day_fallback: true };
    forecasts.push(...walkForward('I-94 ATR 301 volume', points, HOUR_MS, I94_HORIZONS_MS, factories(hourly, I94_HORIZONS_MS, HOUR_MS), BLENDED_MODELS));
    out.i94 = { rows: i94.rows, hours: points.length, duplicate_rows: i94.duplicate_rows, first_ms: points[0]!.t_ms, last_ms: points[points.length - 1]!.t_ms };
  }
  return out;
}

/**
 * The detector-health rules over each MnDOT station, speed and occupancy joined on the window. NAB labels no
 * detector faults, so this only shows how often the rules fire on data nobody flagged. There is no volume in
 * these files, so no_hits and chatter cannot fire here.
 */
function healthCounts(windowsOf: ReadonlyMap<string, Point[]>): HealthCount[] {
  return ['6005', 't4013', '7578'].map((station) => {
    const speed = new Map((windowsOf.get(`speed_${station}.csv`) ?? []).map((p) => [p.t_ms, p.value]));
    const occ = new Map((windowsOf.get(`occupancy_${station}.csv`) ?? []).map((p) => [p.t_ms, p.value]));
    const times = [...new Set([...speed.keys(), ...occ.keys()])].sort((a, b) => a - b);
    const monitor = new DetectorHealthMonitor(defaultHealthOptions(TIME_ZONE));
    const opened: Record<string, number> = {};
    for (const t of times) {
      const w = { key: station, window_start_ms: t, speed_kmh: speed.get(t) ?? null, occupancy_pct: occ.get(t) ?? null, volume: null, observed_fraction: 1 };
      for (const e of monitor.push(w)) if (e.kind === 'open') opened[e.rule] = (opened[e.rule] ?? 0) + 1;
    }
    return { station, windows: times.length, opened };
  });
}
