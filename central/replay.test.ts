import { describe, expect, it } from 'vitest';
import type { Sample, Station } from '../protocol/index.ts';
import { replayWindows } from './replay.ts';

const T0 = Date.UTC(2026, 10, 24, 12, 0, 0);
const station = (id: string): Station => ({ station_id: id, name: id, kind: 'freeway', corridor_id: 'c1', lat: 31.5, lon: -97.1, lanes: 1, free_flow_kmh: 100 });

/** 20-second samples of one detector from `from` for `n` samples, 3 vehicles each at `speed`. */
function run(detector: string, stationId: string, from: number, n: number, speed: number): Sample[] {
  return Array.from({ length: n }, (_, i) => ({
    detector_id: detector, station_id: stationId, start_ms: from + i * 20_000, duration_ms: 20_000, volume: 3, occupancy_pct: 10, speed_kmh: speed, status: 'ok' as const,
  }));
}

describe('replayWindows', () => {
  // s1-l1 reports the full ten minutes; s2-l1 only the first 2 minutes of the second window.
  const samples = [...run('s1-l1', 's1', T0, 30, 90), ...run('s2-l1', 's2', T0 + 300_000, 6, 30)];

  it('builds final detector, station and corridor windows with what each saw', () => {
    const out = replayWindows(samples, { bin_ms: 60_000, stations: [station('s1'), station('s2')] });
    const at = (level: string, key: string, start: number) => out.find((w) => w.level === level && w.key === key && w.window_start_ms === start);
    expect(at('station', 's1', T0)).toMatchObject({ volume: 45, speed_kmh: 90, observed_fraction: 1, congestion: 'clear', revision: 0, final: true });
    expect(at('station', 's2', T0 + 300_000)).toMatchObject({ volume: 18, speed_kmh: 30, observed_fraction: 0.4, congestion: 'severe' });
    // The corridor merges both stations: 45 + 18 vehicles, speed weighted by count.
    const corridor = at('corridor', 'c1', T0 + 300_000)!;
    expect(corridor.volume).toBe(63);
    expect(corridor.speed_kmh).toBeCloseTo((45 * 90 + 18 * 30) / 63, 9);
    expect(corridor.observed_fraction).toBeCloseTo(21 / 30, 9);
    // s2 sent nothing in the first window: as live, a known detector that saw nothing is no_data, not missing.
    expect(at('station', 's2', T0)).toMatchObject({ volume: null, observed_fraction: 0, congestion: 'unknown' });
    expect(out.filter((w) => w.level === 'detector')).toHaveLength(4);
  });

  it('gives the same windows whatever the edge bin width', () => {
    const a = replayWindows(samples, { bin_ms: 60_000 });
    for (const bin_ms of [20_000, 100_000, 300_000]) expect(replayWindows(samples, { bin_ms })).toEqual(a);
  });

  it('refuses a bin width that does not divide the window', () => {
    expect(() => replayWindows(samples, { bin_ms: 70_000 })).toThrow('a 70 s bin does not divide the 5-minute window');
  });
});
