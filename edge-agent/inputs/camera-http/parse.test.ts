import { describe, expect, it } from 'vitest';
import { CameraMappingSchema } from './config.ts';
import { parseCameraCounts } from './parse.ts';

const T = Date.UTC(2026, 10, 27, 14, 0, 0);

describe('camera counts', () => {
  it("reads WacoFlow's own format with the default mapping: one station per approach, one detector per movement", () => {
    const body = {
      intersection_id: 'vm-bosque',
      bins: [
        { start: '2026-11-27T14:00:00Z', approach: 'N', movement: 'T', volume: 12, speed_kmh: 48.5, occupancy_pct: 9.5, queue_veh: 3 },
        { start: '2026-11-27T08:00:00-06:00', approach: 'N', movement: 'L', volume: 0, speed_kmh: -1, occupancy_pct: 0, queue_veh: 0 },
        { start: '2026-11-27T14:00:00', approach: 'S', movement: 'T', volume: 4 }, // no zone: refused
        { start: '2026-11-27T14:00:00Z', movement: 'T', volume: 4 },
      ],
    };
    const r = parseCameraCounts(body, { mapping: CameraMappingSchema.parse({}), station_template: 'vm-bosque-{approach}', interval_ms: 60_000 });
    expect(r.samples).toEqual([
      { detector_id: 'vm-bosque-N-T', station_id: 'vm-bosque-N', start_ms: T, duration_ms: 60_000, volume: 12, occupancy_pct: 9.5, speed_kmh: 48.5, queue_veh: 3, status: 'ok' },
      { detector_id: 'vm-bosque-N-L', station_id: 'vm-bosque-N', start_ms: T, duration_ms: 60_000, volume: 0, occupancy_pct: 0, speed_kmh: null, queue_veh: 0, status: 'ok' },
    ]);
    expect(r.dropped).toEqual({ bad_time: 1, missing_approach: 1 });
  });

  it('maps a Miovision-style turning-movement array: entrance leg as approach, exit leg as movement, qty as volume', () => {
    const body = [
      { datetime_bin: '2026-11-27T14:00:00Z', entrance: 'E', exit: 'N', qty: 7, classification: 'Light' },
      { datetime_bin: '2026-11-27T14:00:00Z', entrance: 'E', exit: 'W', qty: 22, classification: 'Light' },
    ];
    const mapping = CameraMappingSchema.parse({ records: '', start: 'datetime_bin', approach: 'entrance', movement: 'exit', volume: 'qty' });
    const r = parseCameraCounts(body, { mapping, station_template: 'franklin-{approach}', interval_ms: 60_000 });
    expect(r.samples.map((s) => [s.detector_id, s.station_id, s.volume, s.speed_kmh, s.occupancy_pct])).toEqual([
      ['franklin-E-N', 'franklin-E', 7, null, null],
      ['franklin-E-W', 'franklin-E', 22, null, null],
    ]);
  });

  it('maps a GRIDSMART-style record: epoch seconds, mph with -1 for none, occupancy in seconds, vehicles remaining in zone', () => {
    const body = {
      zones: [
        { minute_start: 1795788000, minute_end: 1795788060, direction: 'W', turn: 'Thru', count: 15, speed_mph: 31, occ_s: 6, remaining: 4 },
        { minute_start: 1795788000, minute_end: 1795788060, direction: 'W', turn: 'Left', count: 0, speed_mph: -1, occ_s: 0, remaining: 0 },
      ],
    };
    const mapping = CameraMappingSchema.parse({
      records: 'zones', start: 'minute_start', end: 'minute_end', time_format: 'epoch_s', approach: 'direction', movement: 'turn',
      volume: 'count', speed: 'speed_mph', speed_unit: 'mph', speed_missing: -1, occupancy: 'occ_s', occupancy_unit: 'seconds', queue: 'remaining',
    });
    const r = parseCameraCounts(body, { mapping, station_template: 'waco-dr-{approach}', interval_ms: 60_000 });
    expect(r.samples[0]).toMatchObject({ detector_id: 'waco-dr-W-Thru', start_ms: 1_795_788_000_000, duration_ms: 60_000, volume: 15, occupancy_pct: 10, queue_veh: 4 });
    expect(r.samples[0]!.speed_kmh).toBeCloseTo(31 * 1.609344, 9);
    expect(r.samples[1]).toMatchObject({ speed_kmh: null, volume: 0 });
    expect(r.dropped).toEqual({});
  });

  it('refuses a document without the record array, naming the path', () => {
    expect(() => parseCameraCounts({ data: [] }, { mapping: CameraMappingSchema.parse({}), station_template: '{approach}', interval_ms: 60_000 })).toThrow(/array of count records at "bins"/);
  });
});
