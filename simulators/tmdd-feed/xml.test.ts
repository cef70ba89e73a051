import { describe, expect, it } from 'vitest';
import { parseDetectorData } from '../../edge-agent/inputs/tmdd-http/parse.ts';
import { TrafficModel } from '../traffic-model.ts';
import { CORE_STATIONS } from '../waco/core.ts';
import { dateTimeZone, detectorDataMsg } from './xml.ts';

describe('simulated TMDD feed', () => {
  it.each([
    [Date.UTC(2026, 10, 27, 14, 0, 0), { date: '20261127', time: '080000', offset: '-0600' }],
    [Date.UTC(2026, 6, 1, 13, 30, 15), { date: '20260701', time: '083015', offset: '-0500' }],
    [Date.UTC(2026, 11, 31, 23, 59, 59), { date: '20261231', time: '175959', offset: '-0600' }],
  ])('writes %i as Waco local time with its offset', (t, expected) => {
    expect(dateTimeZone(t, 'America/Chicago')).toEqual(expected);
  });

  it('round-trips through the agent parser: every lane interval, its values and its sentinels', () => {
    const model = new TrafficModel('rt');
    const t0 = Date.UTC(2026, 10, 24, 23, 0, 0);
    const lanes = CORE_STATIONS.flatMap((s) =>
      [0, 20_000, 40_000].flatMap((dt) => Array.from({ length: s.lanes }, (_, i) => model.laneInterval(s, i + 1, t0 + dt, 20_000))),
    );
    const { samples, dropped } = parseDetectorData(detectorDataMsg('TxDOT-WAC', lanes, 'America/Chicago'), {
      time_zone: 'UTC', speed_unit: 'kmh', sample_interval_ms: 20_000,
    });
    expect(samples).toHaveLength(lanes.length);
    expect(samples.map((s) => [s.detector_id, s.station_id, s.start_ms, s.duration_ms, s.volume, s.occupancy_pct, s.speed_kmh])).toEqual(
      lanes.map((l) => [l.detector_id, l.station_id, l.start_ms, l.duration_ms, l.volume, l.occupancy_pct, l.speed_sentinel ? null : l.speed_kmh]),
    );
    const sentinels = lanes.filter((l) => l.speed_sentinel).length;
    expect(dropped).toEqual(sentinels > 0 ? { speed_sentinel: sentinels } : {});
  });
});
