import { describe, expect, it } from 'vitest';
import { congestionOf } from '../central/classify/congestion.ts';
import { summarise, mergeAll, measuresOfSample } from '../protocol/index.ts';
import { demandShare, TrafficModel } from './traffic-model.ts';
import { CORE_STATIONS } from './waco/core.ts';

const station = CORE_STATIONS.find((s) => s.station_id === 'i35-nb-4th-5th')!;
const EVENING = Date.UTC(2026, 10, 24, 23, 0, 0); // 17:00 in Waco (CST)
const NIGHT = Date.UTC(2026, 10, 25, 9, 0, 0); // 03:00

function windowLevel(model: TrafficModel, start_ms: number): string {
  const samples = [];
  for (let t = start_ms; t < start_ms + 300_000; t += 20_000) {
    for (let lane = 1; lane <= station.lanes; lane++) {
      const l = model.laneInterval(station, lane, t, 20_000);
      samples.push({ ...l, speed_kmh: l.speed_sentinel ? null : l.speed_kmh, status: 'ok' as const });
    }
  }
  return congestionOf(summarise(mergeAll(samples.map(measuresOfSample))), station.free_flow_kmh);
}

describe('TrafficModel', () => {
  it('is a pure function of seed, detector and interval', () => {
    const a = new TrafficModel('s').laneInterval(station, 2, EVENING, 20_000);
    expect(new TrafficModel('s').laneInterval(station, 2, EVENING, 20_000)).toEqual(a);
    expect(new TrafficModel('other').laneInterval(station, 2, EVENING, 20_000)).not.toEqual(a);
  });

  it('peaks in the evening and is quiet at night', () => {
    expect(demandShare(EVENING)).toBeGreaterThan(0.8);
    expect(demandShare(NIGHT)).toBeLessThan(0.1);
  });

  it('stays free-flowing without incidents and queues behind a lane-closing incident, day or night', () => {
    const plain = new TrafficModel('waco');
    expect(windowLevel(plain, NIGHT)).toBe('clear');
    const closed = (t: number) => new TrafficModel('waco', [{ station_id: station.station_id, start_ms: t, duration_ms: 600_000, capacity_factor: 0.02 }]);
    expect(windowLevel(closed(NIGHT), NIGHT)).toBe('severe');
    expect(windowLevel(closed(EVENING), EVENING)).toBe('severe');
    // A mild incident at night passes all the demand: no queue forms.
    const mild = new TrafficModel('waco', [{ station_id: station.station_id, start_ms: NIGHT, duration_ms: 600_000, capacity_factor: 0.7 }]);
    expect(windowLevel(mild, NIGHT)).toBe('clear');
  });
});
