/** The take/accept/reject contract every outbox keeps, run against each implementation. */
import { describe, expect, it } from 'vitest';
import { expecting } from '../../protocol/index.ts';
import type { BinDraft } from '../aggregate/binner.ts';
import type { Outbox } from './outbox.ts';

export const T0 = 1_764_230_400_000;
export const stamp = { device_id: 'agent-1', clock: { synced: true, offset_ms: 0 } };
export const draft = (i: number, bin_ms = 60_000, volume = i): BinDraft => ({
  detector_id: `d${i % 4}`,
  station_id: 'st',
  bin_start_ms: T0 + Math.floor(i / 4) * bin_ms,
  bin_ms,
  measures: { ...expecting(3), volume, samples_seen: 3 },
});

export function outboxContract(name: string, open: () => Promise<Outbox>): void {
  describe(`Outbox contract: ${name}`, () => {
    it('numbers bins in order and never hands one out twice while it is in flight', async () => {
      const box = await open();
      const bins = await box.append([draft(1), draft(2), draft(3)], stamp);
      const seqs = bins.map((b) => b.seq);
      expect(seqs[1]! - seqs[0]!).toBe(1);
      expect(seqs[2]! - seqs[1]!).toBe(1);
      expect(box.stats(T0 + 120_000)).toMatchObject({ depth: 3, oldest_age_ms: 60_000 });
      const first = box.take(2);
      expect(first.map((b) => b.seq)).toEqual(seqs.slice(0, 2));
      expect(box.take(5).map((b) => b.seq)).toEqual(seqs.slice(2));
      box.reject(first);
      expect(box.take(5).map((b) => b.seq)).toEqual(seqs.slice(0, 2));
      await box.accept(first);
      expect(box.stats(T0).depth).toBe(1);
      expect(box.take(5)).toEqual([]);
      await box.close();
    });

    it('keeps what it was given, field for field', async () => {
      const box = await open();
      const [bin] = await box.append([draft(7)], stamp);
      const [taken] = box.take(1);
      expect(taken).toEqual(bin);
      expect(taken).toMatchObject({ device_id: 'agent-1', detector_id: 'd3', station_id: 'st', bin_ms: 60_000, measures: { volume: 7 } });
      await box.accept([taken!]);
      await box.close();
    });
  });
}
