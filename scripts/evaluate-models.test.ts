/**
 * Runs the evaluation on the copied real data (data/real/, never /work/shared) and checks behaviour that can
 * fail, not result numbers: the figures move whenever a model is tuned, and that is what the docs are for.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { PersistenceForecaster } from '../central/forecast/series.ts';
import { documentedTables, generatedTables, withTables } from './evaluate/doc.ts';
import { fixedOpenings, robustOpenings, scoreOpenings } from './evaluate/anomaly-eval.ts';
import { HINDSIGHT_BLEND, bestBlend, walkForward } from './evaluate/forecast-eval.ts';
import { evaluateOnsets } from './evaluate/onset-eval.ts';
import { WINDOW_MS, localToEpochMs, nabLabels, parseI94Csv, parseNabCsv, parseWebtrisCsv, resample } from './evaluate/load.ts';
import { BLENDED_MODELS, FIXED, FORECAST_SERIES, NAB_SERIES, TIME_ZONE, anomalyOptions, runEvaluation } from './evaluate/run.ts';
import { PUBLISHED_MODEL, beatsBetterBaseline, forecastTable } from './evaluate/tables.ts';

const root = new URL('../data/real/', import.meta.url);
const read = (p: string): string => readFileSync(new URL(p, root), 'utf8');
const nab = Object.fromEntries(NAB_SERIES.map(({ file }) => [file, read(`nab-mndot/${file}`)]));
const nab_windows = JSON.parse(read('nab-mndot/anomaly_windows.json')) as Record<string, unknown[]>;
const i94Text = read('uci-metro-i94/Metro_Interstate_Traffic_Volume.csv');
// The whole evaluation, as `npm run evaluate` runs it (a few seconds), so the documented tables can be
// checked against it.
const evaluation = runEvaluation({ nab, nab_windows, i94: i94Text, webtris: read('webtris-a64/A64_site6867_2021-05-01.csv') });

describe('the documented tables', () => {
  it('are the ones the code produces now (npm run evaluate rewrites them)', () => {
    const doc = readFileSync(new URL('../docs/traffic-model.md', import.meta.url), 'utf8');
    const produced = generatedTables(evaluation);
    expect([...documentedTables(doc).keys()].sort()).toEqual([...produced.keys()].sort());
    for (const [name, table] of produced) expect(documentedTables(doc).get(name), `the ${name} table in docs/traffic-model.md`).toBe(table);
    expect(withTables(doc, produced).changed).toEqual([]);
  });

  it('refuse a document whose blocks and the code disagree', () => {
    const tables = new Map([['forecasts', '| a |']]);
    expect(() => withTables('<!-- evaluate: forcasts -->\nold\n<!-- /evaluate -->', tables)).toThrow(/block "forcasts" is not a table the evaluation produces/);
    expect(() => withTables('no blocks here', tables)).toThrow(/no <!-- evaluate: forecasts -->/);
    expect(withTables('x\n<!-- evaluate: forecasts -->\nold\n<!-- /evaluate -->\ny', tables)).toEqual({ doc: 'x\n<!-- evaluate: forecasts -->\n| a |\n<!-- /evaluate -->\ny', changed: ['forecasts'] });
  });
});

describe('loading and resampling', () => {
  it('reads local Minnesota time across daylight saving', () => {
    expect(localToEpochMs('2015-09-10 05:33:00', TIME_ZONE)).toBe(Date.UTC(2015, 8, 10, 10, 33));
    expect(localToEpochMs('2015-12-10 05:33:00', TIME_ZONE)).toBe(Date.UTC(2015, 11, 10, 11, 33));
  });

  it('puts every reading in an aligned window and merges the duplicated timestamp by its mean', () => {
    const points = parseNabCsv(nab['speed_t4013.csv']!, TIME_ZONE);
    const dup = points.filter((p) => p.t_ms === localToEpochMs('2015-09-10 05:33:00', TIME_ZONE));
    expect(dup).toHaveLength(2);
    const r = resample(points);
    expect(r.windows.every((w) => w.t_ms % WINDOW_MS === 0)).toBe(true);
    const inWindow = points.filter((p) => p.t_ms - (p.t_ms % WINDOW_MS) === localToEpochMs('2015-09-10 05:30:00', TIME_ZONE));
    const w = r.windows.find((x) => x.t_ms === localToEpochMs('2015-09-10 05:30:00', TIME_ZONE))!;
    expect(w.value).toBeCloseTo(inWindow.reduce((a, p) => a + p.value, 0) / inWindow.length, 9);
    expect(r.windows.length).toBe(new Set(points.map((p) => p.t_ms - (p.t_ms % WINDOW_MS))).size);
  });

  it('keeps one row per I-94 hour', () => {
    const i94 = parseI94Csv(i94Text, TIME_ZONE);
    expect(i94.points.length + i94.duplicate_rows).toBe(i94.rows);
    expect(new Set(i94.points.map((p) => p.t_ms)).size).toBe(i94.points.length);
  });
});

describe('anomaly evaluation', () => {
  it('evaluates every labelled series, for both detectors, with a total that adds up', () => {
    for (const rows of [evaluation.anomalies.robust, evaluation.anomalies.fixed]) {
      expect(rows.map((r) => r.series)).toEqual([...NAB_SERIES.map((s) => s.file), 'total']);
      for (const r of rows.slice(0, -1)) {
        expect(r.labelled).toBe((nab_windows[`realTraffic/${r.series}`] ?? []).length);
        expect(r.detected).toBeLessThanOrEqual(r.labelled);
        expect(r.false_alarms).toBeLessThanOrEqual(r.alerts);
      }
      const total = rows[rows.length - 1]!;
      for (const k of ['labelled', 'detected', 'false_alarms', 'alerts'] as const) {
        expect(total[k]).toBe(rows.slice(0, -1).reduce((a, r) => a + r[k], 0));
      }
    }
  });

  it('counts detections and false alarms as defined', () => {
    const labels: Array<[number, number]> = [[10, 20], [30, 40]];
    expect(scoreOpenings('x', [5, 15, 16, 20, 45], labels)).toEqual({ series: 'x', labelled: 2, detected: 1, false_alarms: 2, alerts: 5 });
  });

  it('is walk-forward: alerts before a cut do not change when the future is removed', () => {
    const file = 'speed_t4013.csv';
    const windows = resample(parseNabCsv(nab[file]!, TIME_ZONE)).windows;
    const cut = localToEpochMs('2015-09-16 12:00:00', TIME_ZONE);
    const s = (w: typeof windows) => ({ name: file, measure: 'speed_kmh' as const, windows: w, labels: nabLabels(nab_windows, file, TIME_ZONE) });
    const full = robustOpenings(s(windows), anomalyOptions()).filter((t) => t < cut);
    const prefix = robustOpenings(s(windows.filter((w) => w.t_ms < cut)), anomalyOptions());
    expect(prefix).toEqual(full);
    expect(fixedOpenings(s(windows.filter((w) => w.t_ms < cut)), FIXED, anomalyOptions())).toEqual(
      fixedOpenings(s(windows), FIXED, anomalyOptions()).filter((t) => t < cut),
    );
  });
});

describe('onset evaluation', () => {
  it('scores the onsets of both stations with both measures, and the counts add up', () => {
    expect(evaluation.onsets.map((o) => o.station)).toEqual(['6005', 't4013']);
    for (const o of evaluation.onsets) {
      for (const w of [o.forecast, o.light_now]) {
        expect(w.warned).toBeLessThanOrEqual(o.onsets);
        expect(w.leads_min).toHaveLength(w.warned);
        expect(w.leads_min.every((m) => m > 0 && m % 5 === 0)).toBe(true);
      }
    }
  });

  it('finds a constructed onset, and "light now" warns of it from the first light window', () => {
    // Three days at 100 km/h and 5 % (free flow learnt), then a slowdown in steps: light, light, severe.
    const t0 = localToEpochMs('2015-09-07 00:00:00', TIME_ZONE);
    const n = 3 * 288;
    const speed = [...Array.from({ length: n }, () => 100), 75, 74, 30, 30, 30].map((value, i) => ({ t_ms: t0 + i * WINDOW_MS, value }));
    const occupancy = speed.map((p) => ({ t_ms: p.t_ms, value: 5 }));
    const r = evaluateOnsets('x', speed, occupancy, WINDOW_MS, TIME_ZONE);
    expect(r.onsets).toBe(1);
    expect(r.light_now).toEqual({ warned: 1, false_alarms: 0, leads_min: [10] });
  });
});

describe('incident evaluation on the simulator', () => {
  it('scores both detectors on the same incidents, and the counts add up', () => {
    const [california, naive] = evaluation.incidents.rows;
    expect(evaluation.incidents.pairs).toBeGreaterThan(50);
    for (const r of [california!, naive!]) {
      expect(r.incidents).toBe(30);
      expect(r.detected_queued).toBeLessThanOrEqual(Math.min(r.detected, r.queued));
      expect(r.times_min).toHaveLength(r.detected);
      expect(r.times_min.every((m) => m > 0)).toBe(true);
      expect(r.station_days).toBe(evaluation.incidents.pairs * evaluation.incidents.days);
    }
    expect(california!.queued).toBe(naive!.queued);
  });
});

describe('the WebTRIS day', () => {
  it('reads every row, checks its speed bins against its total, and keeps UK time', () => {
    const text = read('webtris-a64/A64_site6867_2021-05-01.csv');
    const rows = parseWebtrisCsv(text, 'Europe/London');
    expect(rows).toHaveLength(96);
    expect(rows.reduce((a, r) => a + r.volume, 0)).toBe(7921); // the day's total, as data/real/SOURCES.md states
    expect(new Date(rows[0]!.end_ms).toISOString()).toBe('2021-04-30T23:15:00.000Z'); // 00:15 BST
    const broken = text.replace(/\n(6867,[^\n]*?),(\d+),(\d+),(TAME)/, (_, head: string, avg: string, total: string, name: string) => `\n${head},${avg},${Number(total) + 1},${name}`);
    expect(() => parseWebtrisCsv(broken, 'Europe/London')).toThrow(/row 2: speed bins do not add up to Total Volume/);
  });

  it('splits each count over three windows without losing a vehicle, and compares every interval with vehicles', () => {
    const w = evaluation.webtris!;
    expect(w.windows).toBe(3 * w.intervals);
    expect(w.speed_gap_mph.intervals).toBe(parseWebtrisCsv(read('webtris-a64/A64_site6867_2021-05-01.csv'), 'Europe/London').filter((r) => r.volume > 0 && r.avg_mph !== null).length);
    expect(w.speed_gap_mph.median).toBeLessThanOrEqual(w.speed_gap_mph.max);
  });
});

describe('detector-health pass', () => {
  it('runs the health rules over every MnDOT station', () => {
    expect(evaluation.health.map((h) => h.station)).toEqual(['6005', 't4013', '7578']);
    for (const h of evaluation.health) expect(h.windows).toBeGreaterThan(1000);
  });
});

describe('forecast evaluation', () => {
  it('reports finite errors on a common, non-empty set for every series, horizon and model', () => {
    const series = [...FORECAST_SERIES, 'I-94 ATR 301 volume'];
    expect([...new Set(evaluation.forecasts.map((r) => r.series))]).toEqual(series);
    for (const r of evaluation.forecasts) {
      expect(r.n).toBeGreaterThan(0);
      expect(Number.isFinite(r.mae) && Number.isFinite(r.rmse)).toBe(true);
      expect(r.rmse).toBeGreaterThanOrEqual(r.mae - 1e-9); // RMSE ≥ MAE always
    }
    const ns = new Map<string, Set<number>>();
    for (const r of evaluation.forecasts) ns.set(`${r.series}@${r.horizon_ms}`, (ns.get(`${r.series}@${r.horizon_ms}`) ?? new Set()).add(r.n));
    for (const set of ns.values()) expect(set.size).toBe(1); // all models scored on the same targets
  });

  it('computes persistence MAE at 15 minutes as an independent count on a slice does', () => {
    const windows = resample(parseNabCsv(nab['speed_6005.csv']!, TIME_ZONE)).windows.slice(0, 300);
    const h = 15 * 60_000;
    const [row] = walkForward('slice', windows, WINDOW_MS, [h], [{ name: 'persistence', make: () => new PersistenceForecaster() }]);
    const at = new Map(windows.map((w) => [w.t_ms, w.value]));
    const errors = windows.filter((w) => at.has(w.t_ms + h)).map((w) => Math.abs(at.get(w.t_ms + h)! - w.value));
    expect(errors.length).toBeGreaterThan(50);
    expect(row!.n).toBe(errors.length);
    expect(row!.mae).toBeCloseTo(errors.reduce((a, e) => a + e, 0) / errors.length, 9);
  });

  it('says plainly whether the combined forecast beats the better baseline, and how often its interval held', () => {
    const table = forecastTable(evaluation.forecasts);
    const rows = table.split('\n').slice(2);
    expect(rows).toHaveLength(FORECAST_SERIES.length * 3 + 1);
    for (const line of rows) expect(line).toMatch(/\| (yes|no), \d+\.\d % (lower|higher) \| \d+\.\d % of \d+ \|$/);
    // The verdict is the comparison it claims to be.
    for (const r of evaluation.forecasts.filter((x) => x.model === PUBLISHED_MODEL)) {
      const group = evaluation.forecasts.filter((x) => x.series === r.series && x.horizon_ms === r.horizon_ms);
      const best = Math.min(...group.filter((x) => x.model === 'persistence' || x.model === 'same time of week').map((x) => x.mae));
      expect(beatsBetterBaseline(group)!.beats).toBe(r.mae < best);
      expect(r.coverage!.inside).toBeLessThanOrEqual(r.coverage!.of);
      expect(r.coverage!.of).toBeLessThanOrEqual(r.n);
    }
  });

  it('gives every row the best fixed blend in hindsight, which no blended model alone beats', () => {
    const blends = evaluation.forecasts.filter((r) => r.model === HINDSIGHT_BLEND);
    expect(blends).toHaveLength(FORECAST_SERIES.length * 3 + 1);
    for (const b of blends) {
      const weights = Object.values(b.weights!);
      expect(Object.keys(b.weights!)).toEqual([...BLENDED_MODELS]);
      expect(weights.reduce((a, w) => a + w, 0)).toBeCloseTo(1, 9);
      // Each model alone is a corner of the grid, so the best blend is at least as good as every one of them.
      const group = evaluation.forecasts.filter((x) => x.series === b.series && x.horizon_ms === b.horizon_ms);
      for (const m of BLENDED_MODELS) expect(b.mae).toBeLessThanOrEqual(group.find((x) => x.model === m)!.mae + 1e-9);
    }
  });

  it('finds the blend that made the values, and says which model names are unknown', () => {
    const targets = [10, 20, 35, 15, 50].map((a, i) => {
      const b = 7 * i - 3;
      return [0.3 * a + 0.7 * b, a, b];
    });
    const best = bestBlend(targets, ['a', 'b']);
    expect(best.weights!.a).toBeCloseTo(0.3, 9);
    expect(best.weights!.b).toBeCloseTo(0.7, 9);
    expect(best.mae).toBeLessThan(1e-9);
    const windows = resample(parseNabCsv(nab['speed_6005.csv']!, TIME_ZONE)).windows.slice(0, 50);
    expect(() => walkForward('slice', windows, WINDOW_MS, [WINDOW_MS], [{ name: 'persistence', make: () => new PersistenceForecaster() }], ['profile'])).toThrow(/blend names profile, which is not one of the models \(persistence\)/);
  });
});
