/**
 * An outbox held in memory. It keeps the take/accept/reject contract exactly, but a power cut loses what it
 * holds: the durable, checksummed on-disk log replaces it on boards.
 */
import { encode, type Bin } from '../../protocol/index.ts';
import type { BinDraft } from '../aggregate/binner.ts';
import { rejectIn, takeFrom, type Outbox, type OutboxStats, type SeqSource } from './outbox.ts';

interface Entry {
  bin: Bin;
  bytes: number;
  inflight: boolean;
}

export class MemoryOutbox implements Outbox {
  private readonly entries = new Map<number, Entry>(); // by seq; Map keeps insertion (= seq) order
  private readonly seq: SeqSource;

  constructor(seq: SeqSource) {
    this.seq = seq;
  }

  async append(drafts: BinDraft[], stamp: Pick<Bin, 'device_id' | 'clock'>): Promise<Bin[]> {
    if (drafts.length === 0) return [];
    const first = await this.seq.next(drafts.length);
    return drafts.map((d, i) => {
      const bin: Bin = { device_id: stamp.device_id, seq: first + i, clock: stamp.clock, ...d };
      this.entries.set(bin.seq, { bin, bytes: encode(bin).length, inflight: false });
      return bin;
    });
  }

  waiting(): Bin[] {
    return [...this.entries.values()].map((e) => e.bin);
  }

  take(max: number, filter?: (bin: Bin) => boolean): Bin[] {
    return takeFrom(this.entries.values(), max, filter);
  }

  async accept(batch: Bin[]): Promise<void> {
    for (const b of batch) this.entries.delete(b.seq);
  }

  reject(batch: Bin[]): void {
    rejectIn(this.entries, batch);
  }

  stats(now_ms: number): OutboxStats {
    let bytes = 0;
    let oldestEnd = Infinity;
    for (const e of this.entries.values()) {
      bytes += e.bytes;
      oldestEnd = Math.min(oldestEnd, e.bin.bin_start_ms + e.bin.bin_ms);
    }
    return { depth: this.entries.size, bytes, oldest_age_ms: oldestEnd === Infinity ? null : Math.max(0, now_ms - oldestEnd) };
  }

  marks(): ReadonlyMap<string, number> {
    return new Map(); // nothing survives the process, so nothing to resume from
  }

  dropped(): Record<string, number> {
    return {}; // unbounded: it never drops
  }

  async close(): Promise<void> {}
}
