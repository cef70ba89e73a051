import { describe, expect, it } from 'vitest';
import { decode, expecting, type Bin } from '../../protocol/index.ts';
import { windowRefKey, type WindowRow } from '../store/rows.ts';
import { corridorRow, foldBins, foldCorridorBins } from './fold.ts';

const T0 = 1_764_230_400_000;

function bin(seq: number, detector_id: string, minute: number, volume: number, synced = true, station_id = 's1'): Bin {
  return decode('bin', {
    device_id: 'a1', seq, detector_id, station_id, bin_start_ms: T0 + minute * 60_000, bin_ms: 60_000,
    clock: { synced, offset_ms: 0 }, measures: { ...expecting(3), volume, samples_seen: 3 },
  });
}

describe('foldBins', () => {
  it('sums a station over its detectors and a detector over its minutes', () => {
    const rows = foldBins(new Map(), [bin(1, 'd1', 0, 5), bin(2, 'd2', 0, 7), bin(3, 'd1', 4, 1), bin(4, 'd1', 5, 9)], { now_ms: T0 });
    const get = (level: string, key: string, start: number) => rows.find((r) => r.level === level && r.key === key && r.window_start_ms === start);
    expect(get('detector', 'd1', T0)!.measures.volume).toBe(6);
    expect(get('detector', 'd2', T0)!.measures.volume).toBe(7);
    expect(get('station', 's1', T0)!.measures.volume).toBe(13);
    expect(get('station', 's1', T0)!.measures.samples_expected).toBe(9);
    expect(get('station', 's1', T0 + 300_000)!.measures.volume).toBe(9);
    expect(rows.every((r) => r.state === 'provisional' && r.revision === 0)).toBe(true);
  });

  it('turns a late bin into one revision of a final window, and flags untrusted clocks', () => {
    const [first] = foldBins(new Map(), [bin(1, 'd1', 0, 5)], { now_ms: T0 }).filter((r) => r.level === 'station');
    const final: WindowRow = { ...first!, state: 'final' };
    const rows = foldBins(new Map([[windowRefKey(final), final]]), [bin(2, 'd2', 1, 3, false), bin(3, 'd2', 2, 4)], { now_ms: T0 + 400_000, closed_through_ms: T0 + 340_000 });
    const station = rows.find((r) => r.level === 'station')!;
    expect(station).toMatchObject({ state: 'revised', revision: 1, clock_untrusted: true, updated_ms: T0 + 400_000 });
    expect(station.measures.volume).toBe(12);
  });

  it('recomputes a corridor from its stations', () => {
    const rows = foldBins(new Map(), [bin(1, 'd1', 0, 5), bin(2, 'd2', 1, 6)], { now_ms: T0 }).filter((r) => r.level === 'station');
    const other = { ...rows[0]!, key: 's2', measures: { ...rows[0]!.measures, volume: 100 } };
    const c = corridorRow('i35', T0, [rows[0]!, other], undefined, { now_ms: T0 });
    expect(c).toMatchObject({ level: 'corridor', key: 'i35', revision: 0, state: 'provisional' });
    expect(c.measures.volume).toBe(111);
    const again = corridorRow('i35', T0, [rows[0]!], { ...c, state: 'final' }, { now_ms: T0 + 1 });
    expect(again).toMatchObject({ state: 'revised', revision: 1 });
    expect(again.measures.volume).toBe(11);
  });

  it('writes a window first seen after its deadline as final, and leaves the rest provisional', () => {
    // Windows [T0, T0+5m) and [T0+5m, T0+10m); the first is past its deadline, the second not yet.
    const time = { now_ms: T0 + 400_000, closed_through_ms: T0 + 300_000 };
    const rows = foldBins(new Map(), [bin(1, 'd1', 0, 5), bin(2, 'd1', 5, 7)], time);
    const at = (start: number) => rows.filter((r) => r.window_start_ms === start).map((r) => [r.level, r.state, r.revision]);
    expect(at(T0)).toEqual([['detector', 'final', 0], ['station', 'final', 0]]);
    expect(at(T0 + 300_000)).toEqual([['detector', 'provisional', 0], ['station', 'provisional', 0]]);
    // One written before its deadline stays provisional for the finalisation pass; a final one is revised.
    const provisional = rows.find((r) => r.level === 'station' && r.window_start_ms === T0 + 300_000)!;
    const final = rows.find((r) => r.level === 'station' && r.window_start_ms === T0)!;
    const later = { now_ms: T0 + 700_000, closed_through_ms: T0 + 640_000 };
    const again = foldBins(new Map([provisional, final].map((r) => [windowRefKey(r), r])), [bin(3, 'd2', 6, 1), bin(4, 'd2', 1, 2)], later);
    const station = (start: number) => again.find((r) => r.level === 'station' && r.window_start_ms === start);
    expect(station(T0 + 300_000)).toMatchObject({ state: 'provisional', revision: 0 });
    expect(station(T0)).toMatchObject({ state: 'revised', revision: 1 });
    expect(corridorRow('i35', T0, [final], undefined, later)).toMatchObject({ state: 'final', revision: 0 });
    expect(corridorRow('i35', T0 + 600_000, [], undefined, later)).toMatchObject({ state: 'provisional', revision: 0 });
  });

  it("folds a corridor's bins batch by batch into what its station windows merge to", () => {
    const corridorOf = (station_id: string) => ({ s1: 'i35', s2: 'i35', s3: null })[station_id];
    // Two partitions' batches: s1's and s2's bins, with speeds so the float sums are not trivially equal.
    const speedy = (b: Bin, kmh: number): Bin => ({ ...b, measures: { ...b.measures, speed_weight: b.measures.volume ?? 0, speed_sum: kmh * (b.measures.volume ?? 0), speed_inverse_sum: (b.measures.volume ?? 0) / kmh, speed_min_kmh: kmh, speed_max_kmh: kmh } });
    const first = [speedy(bin(1, 'd1', 0, 5), 97.3), speedy(bin(2, 'd2', 1, 6, false), 88.1), speedy(bin(3, 'd9', 2, 40, true, 's3'), 50)];
    const second = [speedy(bin(4, 'd3', 0, 7, true, 's2'), 71.9), speedy(bin(5, 'd3', 6, 2, true, 's2'), 64.2)];
    const time = { now_ms: T0 };
    const once = foldCorridorBins(new Map(), first, corridorOf, time);
    expect(once.map((r) => [r.level, r.key, r.window_start_ms, r.state, r.revision, r.clock_untrusted])).toEqual([['corridor', 'i35', T0, 'provisional', 0, true]]);
    const stored = new Map(once.map((r) => [windowRefKey(r), r]));
    const twice = foldCorridorBins(stored, second, corridorOf, { now_ms: T0 + 1 });
    expect(twice.map((r) => r.window_start_ms)).toEqual([T0, T0 + 300_000]);
    expect(once[0]!.measures.volume).toBe(11); // the stored row is copied, not changed

    const stations = foldBins(new Map(), [...first, ...second], time).filter((r) => r.level === 'station' && r.key !== 's3');
    for (const row of twice) {
      const expected = corridorRow('i35', row.window_start_ms, stations.filter((s) => s.window_start_ms === row.window_start_ms), undefined, time);
      for (const [k, v] of Object.entries(expected.measures)) expect(row.measures[k as keyof typeof row.measures]).toBeCloseTo(v as number, 9);
    }
    // A final corridor window takes a later batch as one revision.
    const final = new Map(twice.map((r) => [windowRefKey(r), { ...r, state: 'final' as const }]));
    const late = foldCorridorBins(final, [bin(6, 'd1', 3, 1), bin(7, 'd1', 4, 1)], corridorOf, { now_ms: T0 + 2 });
    expect(late).toMatchObject([{ key: 'i35', window_start_ms: T0, state: 'revised', revision: 1 }]);
    expect(late[0]!.measures.volume).toBe(20);
  });
});
