import { describe, expect, it } from 'vitest';
import type { Bin, Sample } from '../../protocol/index.ts';
import { ERR, WacoflowError } from '../../platform/errors.ts';
import { MemoryOutbox } from '../outbox/memory-outbox.ts';
import { MemorySeqSource } from '../outbox/seq-file.ts';
import { Binner, type BinDraft } from './binner.ts';
import { Sealer } from './sealer.ts';

const T0 = 1_764_230_400_000;
const sample = (detector_id: string, offset_ms: number): Sample => ({
  detector_id, station_id: 'st', start_ms: T0 + offset_ms, duration_ms: 20_000, volume: 4, occupancy_pct: 5, speed_kmh: 90, status: 'ok',
});

/** An outbox whose disk is full until `heal()`. */
class FullDisk extends MemoryOutbox {
  full = true;
  override async append(drafts: BinDraft[], stamp: Pick<Bin, 'device_id' | 'clock'>): Promise<Bin[]> {
    if (this.full) throw new WacoflowError(ERR.OUTBOX_DISK_FULL, 'outbox: writing bins: no space left (ENOSPC)', { retriable: true });
    return super.append(drafts, stamp);
  }
}

describe('Sealer', () => {
  it('keeps bins the outbox refused and delivers them, first, once it accepts again', async () => {
    const binner = new Binner(60_000, 0);
    const outbox = new FullDisk(new MemorySeqSource(0));
    const errors: (string | null)[] = [];
    const dropped: Record<string, number>[] = [];
    const sealer = new Sealer(
      { binner, outbox, stamp: () => ({ device_id: 'a', clock: { synced: true, offset_ms: 0 } }), onDropped: (d) => dropped.push(d), onOutboxError: (e) => errors.push(e?.message ?? null) },
      3,
    );
    binner.add([sample('d1', 0), sample('d2', 0)], 20_000);
    await sealer.flush(T0 + 60_000);
    expect(sealer.pending()).toBe(2);
    expect(sealer.error()).toContain('no space left');

    binner.add([sample('d1', 60_000), sample('d2', 60_000)], 20_000);
    await sealer.flush(T0 + 120_000); // 4 waiting, room for 3: the oldest one goes, counted
    expect(sealer.pending()).toBe(3);
    expect(dropped).toEqual([{ outbox_unavailable: 1 }]);

    outbox.full = false;
    await sealer.flush(T0 + 120_000);
    expect(sealer.pending()).toBe(0);
    expect(sealer.error()).toBeNull();
    expect(outbox.take(10).map((b) => [b.detector_id, b.bin_start_ms - T0])).toEqual([
      ['d2', 0],
      ['d1', 60_000],
      ['d2', 60_000],
    ]);
    expect(errors.at(-1)).toBeNull();
  });
});
