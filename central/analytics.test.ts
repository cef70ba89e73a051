import { describe, expect, it } from 'vitest';
import { EMPTY_MEASURES, type Alert, type Station, type WindowResult } from '../protocol/index.ts';
import { Analytics } from './analytics.ts';
import { congestionOf } from './classify/congestion.ts';

const T0 = Date.UTC(2026, 9, 5, 5, 0, 0); // a Monday, 00:00 in Chicago
const W = 300_000;
const station: Station = { station_id: 's1', name: 's1', kind: 'freeway', corridor_id: null, lat: 31.5, lon: -97.1, lanes: 2, free_flow_kmh: 110 };

function window(i: number, speed: number, level: 'station' | 'detector' = 'station', key = 's1', occupancy = 8): WindowResult {
  return {
    v: 1, level, key, window_start_ms: T0 + i * W, window_end_ms: T0 + (i + 1) * W, revision: 0, state: 'final', status: 'ok',
    volume: 40, occupancy_pct: occupancy, speed_kmh: speed, speed_min_kmh: speed, speed_max_kmh: speed, observed_fraction: 1,
    congestion: congestionOf({ speed_kmh: speed, occupancy_pct: occupancy, volume: 40 }, station.free_flow_kmh), los: null, clock_untrusted: false, measures: { ...EMPTY_MEASURES },
  };
}

/** Two weeks of a steady road: 100 km/h give or take 2, by a fixed pattern. */
const history = Array.from({ length: 2 * 2016 }, (_, i) => window(i, 100 + ((i * 7) % 5) - 2));

describe('Analytics', () => {
  it('opens a traffic alert after three slow windows, names it by the run, and closes it when speeds recover', () => {
    const a = new Analytics('America/Chicago', new Map([['s1', station]]));
    expect(a.observe(history, T0, true)).toEqual({ alerts: [], forecasts: [] }); // history: learnt, not reported
    const n = history.length;
    const seen = [0, 1, 2, 3, 4, 5, 6].map((k) => a.observe([window(n + k, k < 3 ? 40 : 100)], T0 + (n + k + 1) * W));
    const alerts = seen.flatMap((s) => s.alerts).filter((x) => x.rule !== 'congestion_onset');
    expect(alerts.map((x) => [x.state, x.rule, x.window_start_ms])).toEqual([
      ['open', 'speed_kmh_low', T0 + (n + 2) * W],
      ['closed', 'speed_kmh_low', T0 + (n + 5) * W],
    ]);
    expect(alerts[0]!.alert_id).toBe(`traffic:speed_kmh_low:s1:${T0 + n * W}`);
    expect(alerts[1]).toMatchObject({ alert_id: alerts[0]!.alert_id, opened_ms: alerts[0]!.opened_ms, closed_ms: T0 + (n + 6) * W, kind: 'traffic' });
    expect(alerts[0]!.detail).toMatch(/^speed_kmh 40\.0 against a usual (9[89]|10[012])\.\d \(score -\d+\.\d\)$/);
  });

  it('reports detector health apart from traffic, and forecasts every station it saw', () => {
    const a = new Analytics('America/Chicago', new Map([['s1', station]]));
    const out = [0, 1, 2].map((i) => a.observe([window(i, 100), window(i, 0, 'detector', 's1-l1', 100)], T0 + (i + 1) * W));
    expect(out.flatMap((o) => o.alerts).map((x) => [x.kind, x.rule, x.key, x.state])).toEqual([['detector_health', 'stuck_on', 's1-l1', 'open']]);
    const f = out[2]!.forecasts;
    expect(f.map((x) => x.key)).toEqual(['s1']);
    expect(f[0]!.horizons.map((h) => [h.horizon_min, h.target_window_start_ms, h.speed_kmh])).toEqual([
      [15, T0 + 2 * W + 15 * 60_000, 100], [30, T0 + 2 * W + 30 * 60_000, 100], [60, T0 + 2 * W + 60 * 60_000, 100],
    ]);
  });

  it('warns of a congestion onset while the station is still clear, and closes the warning when it arrives', () => {
    // Two weeks in which every weekday 08:00–09:00 (Chicago) runs at 40 km/h: the profile knows the peak.
    const hour = (i: number) => Math.floor(((i * W) % 86_400_000) / 3_600_000);
    const weekday = (i: number) => Math.floor((i * W) / 86_400_000) % 7 < 5;
    const speed = (i: number) => (weekday(i) && hour(i) === 8 ? 40 : 100 + ((i * 7) % 5) - 2);
    const a = new Analytics('America/Chicago', new Map([['s1', station]]));
    const days = 14;
    a.observe(Array.from({ length: days * 288 }, (_, i) => window(i, speed(i))), T0, true);
    // Monday again, from 06:00: the warning opens while the road is clear and closes at 08:00.
    const start = days * 288 + 6 * 12;
    const alerts = Array.from({ length: 3 * 12 }, (_, k) => start + k).flatMap((i) => a.observe([window(i, speed(i))], T0 + (i + 1) * W).alerts).filter((x) => x.rule === 'congestion_onset');
    expect(alerts.map((x) => x.state)).toEqual(['open', 'closed']);
    const [open, closed] = alerts as [Alert, Alert];
    expect(open.window_start_ms).toBeGreaterThanOrEqual(T0 + (days * 288 + 7.5 * 12) * W); // within 30 minutes
    expect(open.window_start_ms).toBeLessThan(T0 + (days * 288 + 8 * 12) * W);
    expect(open.detail).toMatch(/^clear now; (moderate|severe) possible in (15|30) min, speed \d+ km\/h \(80 %: \d+–\d+\)$/);
    expect(closed).toMatchObject({ alert_id: open.alert_id, window_start_ms: T0 + (days * 288 + 8 * 12) * W, detail: 'congestion arrived: severe now' });
  });

  it('warns a station whose downstream neighbour is congested, from that neighbour’s latest final window', () => {
    const below: Station = { ...station, station_id: 's2' };
    const a = new Analytics('America/Chicago', new Map([['s1', station], ['s2', below]]), new Map([['s1', 's2']]));
    const at = (i: number, key: string, speed: number) => ({ ...window(i, speed), key });
    const alerts = (i: number, ws: WindowResult[]) => a.observe(ws, T0 + (i + 1) * W).alerts.filter((x) => x.rule === 'congestion_onset');
    expect(alerts(0, [at(0, 's2', 100), at(0, 's1', 100)])).toEqual([]);
    // s2 turns severe; in the same slot s1 is still clear: warned.
    const [open] = alerts(1, [at(1, 's2', 30), at(1, 's1', 100)]);
    expect(open).toMatchObject({ key: 's1', state: 'open', window_start_ms: T0 + W, detail: 'clear now; s2 downstream is severe: its queue may reach here' });
    // A neighbour's later window never counts for an earlier one.
    const later = new Analytics('America/Chicago', new Map([['s1', station], ['s2', below]]), new Map([['s1', 's2']]));
    later.observe([at(5, 's2', 30)], T0 + 6 * W);
    expect(later.observe([at(4, 's1', 100)], T0 + 6 * W).alerts.filter((x) => x.rule === 'congestion_onset')).toEqual([]);
    // An hour later s1 reports again (the gap closes its warning) and s2 has been silent: its old severe window
    // no longer counts, so no new warning opens.
    expect(alerts(14, [at(14, 's1', 100)]).map((x) => [x.state, x.detail])).toEqual([['closed', 'cleared (no data)']]);
    expect(alerts(15, [at(15, 's1', 100)])).toEqual([]);
  });

  it('raises an incident when the upstream station of a pair fills while the downstream one stays thin', () => {
    const below: Station = { ...station, station_id: 's2' };
    const a = new Analytics('America/Chicago', new Map([['s1', station], ['s2', below]]), new Map([['s1', 's2']]));
    const pair = (i: number, up: number, down: number, order: 'up-first' | 'down-first') => {
      const ws = [{ ...window(i, up > 50 ? 20 : 100, 'station', 's1', up) }, { ...window(i, 100, 'station', 's2', down) }];
      return a.observe(order === 'up-first' ? ws : ws.reverse(), T0 + (i + 1) * W).alerts.filter((x) => x.rule === 'incident');
    };
    expect(pair(0, 10, 9, 'up-first')).toEqual([]);
    expect(pair(1, 70, 8, 'down-first')).toEqual([]); // one window is not enough
    const [open] = pair(2, 72, 8, 'up-first');
    expect(open).toMatchObject({ kind: 'traffic', rule: 'incident', key: 's1', state: 'open', alert_id: `traffic:incident:s1:${T0 + W}` });
    expect(open!.detail).toBe('possible incident between s1 and s2: occupancy 72 % at s1, 8 % at s2 downstream');
    // Both full: a queue from further down, not an incident here; the alert clears after two such windows.
    expect(pair(3, 70, 60, 'up-first')).toEqual([]);
    expect(pair(4, 70, 60, 'down-first').map((x) => x.state)).toEqual(['closed']);
  });

  it('leaves provisional and corridor windows out', () => {
    const a = new Analytics('America/Chicago', new Map([['s1', station]]));
    expect(a.observe([{ ...window(0, 100), state: 'provisional' }, { ...window(0, 100), level: 'corridor', key: 'c' }], T0)).toEqual({ alerts: [], forecasts: [] });
  });
});
