import { describe, expect, it } from 'vitest';
import { decode, expecting, type Bin } from '../../protocol/index.ts';
import { windowRefKey, type WindowRow } from '../store/rows.ts';
import { corridorRow, foldBins } from './fold.ts';

const T0 = 1_764_230_400_000;

function bin(seq: number, detector_id: string, minute: number, volume: number, synced = true): Bin {
  return decode('bin', {
    device_id: 'a1', seq, detector_id, station_id: 's1', bin_start_ms: T0 + minute * 60_000, bin_ms: 60_000,
    clock: { synced, offset_ms: 0 }, measures: { ...expecting(3), volume, samples_seen: 3 },
  });
}

describe('foldBins', () => {
  it('sums a station over its detectors and a detector over its minutes', () => {
    const rows = foldBins(new Map(), [bin(1, 'd1', 0, 5), bin(2, 'd2', 0, 7), bin(3, 'd1', 4, 1), bin(4, 'd1', 5, 9)], T0);
    const get = (level: string, key: string, start: number) => rows.find((r) => r.level === level && r.key === key && r.window_start_ms === start);
    expect(get('detector', 'd1', T0)!.measures.volume).toBe(6);
    expect(get('detector', 'd2', T0)!.measures.volume).toBe(7);
    expect(get('station', 's1', T0)!.measures.volume).toBe(13);
    expect(get('station', 's1', T0)!.measures.samples_expected).toBe(9);
    expect(get('station', 's1', T0 + 300_000)!.measures.volume).toBe(9);
    expect(rows.every((r) => r.state === 'provisional' && r.revision === 0)).toBe(true);
  });

  it('turns a late bin into one revision of a final window, and flags untrusted clocks', () => {
    const [first] = foldBins(new Map(), [bin(1, 'd1', 0, 5)], T0).filter((r) => r.level === 'station');
    const final: WindowRow = { ...first!, state: 'final' };
    const rows = foldBins(new Map([[windowRefKey(final), final]]), [bin(2, 'd2', 1, 3, false), bin(3, 'd2', 2, 4)], T0 + 400_000);
    const station = rows.find((r) => r.level === 'station')!;
    expect(station).toMatchObject({ state: 'revised', revision: 1, clock_untrusted: true, updated_ms: T0 + 400_000 });
    expect(station.measures.volume).toBe(12);
  });

  it('recomputes a corridor from its stations', () => {
    const rows = foldBins(new Map(), [bin(1, 'd1', 0, 5), bin(2, 'd2', 1, 6)], T0).filter((r) => r.level === 'station');
    const other = { ...rows[0]!, key: 's2', measures: { ...rows[0]!.measures, volume: 100 } };
    const c = corridorRow('i35', T0, [rows[0]!, other], undefined, T0);
    expect(c).toMatchObject({ level: 'corridor', key: 'i35', revision: 0, state: 'provisional' });
    expect(c.measures.volume).toBe(111);
    const again = corridorRow('i35', T0, [rows[0]!], { ...c, state: 'final' }, T0 + 1);
    expect(again).toMatchObject({ state: 'revised', revision: 1 });
    expect(again.measures.volume).toBe(11);
  });
});
