import { describe, expect, it } from 'vitest';
import { expecting, type Station } from '../../protocol/index.ts';
import type { WindowRow } from '../store/rows.ts';
import { stationLookup, toWindowResult } from './result.ts';

const T0 = Date.UTC(2026, 10, 2, 8, 0);

/** An arterial approach posted at 35 mph (56 km/h). */
const arterial: Station = {
  station_id: 'valley-mills-eb', name: 'Valley Mills Dr EB', kind: 'intersection', corridor_id: 'valley-mills', lat: 31.53, lon: -97.18, lanes: 2, free_flow_kmh: 56,
};
const stations = new Map([[arterial.station_id, arterial]]);

/** Five minutes of one lane: 40 vehicles at 50 km/h, 5 % occupancy. */
function row(level: WindowRow['level'], key: string): WindowRow {
  return {
    level, key, window_start_ms: T0, window_end_ms: T0 + 300_000, revision: 0, state: 'final', clock_untrusted: false, updated_ms: T0 + 360_000,
    measures: {
      ...expecting(15), samples_seen: 15, volume: 40, occupied_ms: 15_000, occupancy_observed_ms: 300_000,
      speed_weight: 40, speed_sum: 40 * 50, speed_inverse_sum: 40 / 50, speed_min_kmh: 45, speed_max_kmh: 55,
    },
  };
}

describe('window results', () => {
  it("judges a detector's congestion against its station's free-flow speed, not the fallback", () => {
    const placed = stationLookup(stations, new Map(), (d) => (d === 'valley-mills-eb-l1' ? 'valley-mills-eb' : undefined));
    // 50 of 56 km/h is free flow on this street; against the 100 km/h fallback it would read as moderate.
    expect(toWindowResult(row('detector', 'valley-mills-eb-l1'), placed).congestion).toBe('clear');
    expect(toWindowResult(row('station', 'valley-mills-eb'), placed).congestion).toBe('clear');
    // A detector nothing has placed yet still gets a level, from the fallback.
    expect(toWindowResult(row('detector', 'unplaced-l1'), placed).congestion).toBe('moderate');
  });

  it("uses the station's learned free-flow speed for its detectors once there is one", () => {
    const learned = new Map([['valley-mills-eb', 110]]);
    const lookup = stationLookup(stations, learned, () => 'valley-mills-eb');
    // 50 of 110 km/h is under half of free flow: severe (against the 100 km/h fallback it would be moderate).
    expect(toWindowResult(row('detector', 'valley-mills-eb-l2'), lookup).congestion).toBe('severe');
    // Level of service stays a station measure.
    expect(toWindowResult(row('detector', 'valley-mills-eb-l2'), lookup).los).toBeNull();
  });
});
