/** The simulated city's past as final station windows: complete, aligned, shaped like the live traffic, repeatable. */
import { describe, expect, it } from 'vitest';
import { summarise, WINDOW_MS } from '../protocol/index.ts';
import { modelHistory, type HistoryWindow } from './history.ts';
import { TrafficModel } from './traffic-model.ts';
import { wacoNetwork } from './waco/network.ts';

const net = wacoNetwork();
const MONDAY = Date.UTC(2026, 10, 16, 6, 0, 0); // 2026-11-16 00:00 in Waco (CST, UTC−6)
const HOUR = 3_600_000;
const stations = ['i35-nb-12th', 'valley-mills-nb-waco-dr'].map((id) => net.stations.find((s) => s.station_id === id)!);
const history = (seed: string, from: number, until: number): HistoryWindow[] => [...modelHistory(new TrafficModel(seed, { network: net }), stations, from, until)].flat();

describe('modelHistory', () => {
  it('gives every station one final window per five minutes, a day at a time, up to the start', () => {
    const days = [...modelHistory(new TrafficModel('h', { network: net }), stations, MONDAY - 2 * 24 * HOUR + 1_000, MONDAY + 7 * 60_000)];
    expect(days.map((d) => d.length)).toEqual([2 * 288, 2 * 288, 2 * 1]); // two whole days, then the window before the start
    const all = days.flat();
    for (const s of stations) {
      const starts = all.filter((w) => w.key === s.station_id).map((w) => w.window_start_ms);
      expect(starts[0]).toBe(MONDAY - 2 * 24 * HOUR);
      expect(starts.every((t, i) => t % WINDOW_MS === 0 && (i === 0 || t - starts[i - 1]! === WINDOW_MS))).toBe(true);
      expect(starts[starts.length - 1]).toBe(MONDAY); // the window holding the start is the live system's
    }
  });

  it('counts each lane once, fully observed, with the day shape of the live model: quiet nights, busy peaks', () => {
    const windows = history('shape', MONDAY, MONDAY + 24 * HOUR);
    const i35 = windows.filter((w) => w.key === 'i35-nb-12th');
    for (const w of i35) {
      expect(w.measures.samples_seen).toBe(stations[0]!.lanes);
      expect(summarise(w.measures).observed_fraction).toBe(1);
    }
    const volumeAt = (hour: number) => i35.filter((w) => Math.floor((w.window_start_ms - MONDAY) / HOUR) === hour).reduce((a, w) => a + (w.measures.volume ?? 0), 0);
    expect(volumeAt(17)).toBeGreaterThan(4 * volumeAt(3));
    const speeds = i35.map((w) => summarise(w.measures).speed_kmh).filter((v): v is number => v !== null);
    expect(Math.max(...speeds)).toBeLessThanOrEqual(stations[0]!.free_flow_kmh * 1.2);
    expect(Math.min(...speeds)).toBeGreaterThan(20);
  });

  it('is a pure function of the seed', () => {
    const a = history('same', MONDAY, MONDAY + 6 * HOUR);
    expect(history('same', MONDAY, MONDAY + 6 * HOUR)).toEqual(a);
    expect(history('other', MONDAY, MONDAY + 6 * HOUR)).not.toEqual(a);
  });
});
