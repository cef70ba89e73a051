import { describe, expect, it } from 'vitest';
import type { Sample } from '../../protocol/index.ts';
import { Binner } from './binner.ts';

const T0 = 1_764_230_400_000;
const s = (detector_id: string, offset_ms: number, volume: number | null): Sample => ({
  detector_id, station_id: 'st', start_ms: T0 + offset_ms, duration_ms: 20_000, volume, occupancy_pct: 5, speed_kmh: 90, status: 'ok',
});

describe('Binner', () => {
  it('seals a bin only after its end plus the close delay, and expects one sample per interval', () => {
    const b = new Binner(60_000, 30_000);
    b.add([s('d1', 0, 3), s('d1', 20_000, 4), s('d1', 40_000, 5)], 20_000);
    expect(b.seal(T0 + 89_999)).toEqual([]);
    const [bin] = b.seal(T0 + 90_000);
    expect(bin).toMatchObject({ detector_id: 'd1', station_id: 'st', bin_start_ms: T0, bin_ms: 60_000 });
    expect(bin!.measures).toMatchObject({ volume: 12, samples_seen: 3, samples_expected: 3 });
    expect(b.seal(T0 + 90_000)).toEqual([]);
  });

  it('emits empty bins for a detector that went silent, so silence is visible', () => {
    const b = new Binner(60_000, 0);
    b.add([s('d1', 0, 3)], 20_000);
    const bins = b.seal(T0 + 180_000);
    expect(bins.map((x) => [x.bin_start_ms - T0, x.measures.volume, x.measures.samples_seen, x.measures.samples_expected])).toEqual([
      [0, 3, 1, 3],
      [60_000, null, 0, 3],
      [120_000, null, 0, 3],
    ]);
  });

  it('sends a late sample in a supplementary bin that expects nothing more', () => {
    const b = new Binner(60_000, 0);
    b.add([s('d1', 0, 3)], 20_000);
    b.seal(T0 + 60_000);
    b.add([s('d1', 40_000, 7)], 20_000);
    const [late] = b.seal(T0 + 60_000);
    expect(late).toMatchObject({ bin_start_ms: T0 });
    expect(late!.measures).toMatchObject({ volume: 7, samples_seen: 1, samples_expected: 0 });
  });

  it('keeps detectors apart and orders output by bin start', () => {
    const b = new Binner(30_000, 0);
    b.add([s('d2', 30_000, 1), s('d1', 0, 2), s('d1', 30_000, 0)], 10_000);
    const bins = b.seal(T0 + 60_000);
    expect(bins.map((x) => [x.detector_id, x.bin_start_ms - T0, x.measures.volume])).toEqual([
      ['d1', 0, 2],
      ['d1', 30_000, 0],
      ['d2', 30_000, 1],
    ]);
    expect(b.detectorCount()).toBe(2);
  });

  it('gives detectors known from an inventory a bin every slot, even if they never report', () => {
    const b = new Binner(60_000, 0);
    b.register([{ detector_id: 'dead', station_id: 'st' }], 20_000, T0 + 30_000);
    b.add([s('alive', 0, 4)], 20_000);
    const bins = b.seal(T0 + 120_000);
    expect(bins.filter((x) => x.detector_id === 'dead').map((x) => [x.bin_start_ms - T0, x.measures.samples_seen, x.measures.samples_expected])).toEqual([
      [0, 0, 3],
      [60_000, 0, 3],
    ]);
  });
});
