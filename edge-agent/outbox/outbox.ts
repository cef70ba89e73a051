/**
 * The outbox: bins wait here until the gateway confirms them. It works in transactions, like a message buffer
 * should: `take` hands out a batch (which stays in the outbox, marked in flight), then the caller either
 * `accept`s it (confirmed: forget it) or `reject`s it (not confirmed: it goes back, in order, for another try).
 */
import type { Bin } from '../../protocol/index.ts';
import type { BinDraft } from '../aggregate/binner.ts';

export interface OutboxStats {
  depth: number;
  bytes: number;
  /** How old the oldest waiting data is: now minus the end of the oldest bin. */
  oldest_age_ms: number | null;
}

export interface Outbox {
  /** Gives each draft its `seq` and keeps it until confirmed. */
  append(drafts: BinDraft[], stamp: Pick<Bin, 'device_id' | 'clock'>): Promise<Bin[]>;
  /** Up to `max` bins not already in flight (and passing `filter`, when given), oldest first. */
  take(max: number, filter?: (bin: Bin) => boolean): Bin[];
  /** Every bin still waiting for confirmation, oldest first, in flight or not; takes nothing. */
  waiting(): Bin[];
  accept(batch: Bin[]): Promise<void>;
  reject(batch: Bin[]): void;
  stats(now_ms: number): OutboxStats;
  /** Per detector, the end of the newest bin it ever took (durable outboxes only; empty otherwise). */
  marks(): ReadonlyMap<string, number>;
  /** Bins the outbox itself dropped since start (full, too old), by reason. */
  dropped(): Record<string, number>;
  close(): Promise<void>;
}

/** Where sequence numbers come from: `next` never returns a number twice for a device, across restarts too. */
export interface SeqSource {
  next(count: number): Promise<number>;
}

/** What both outboxes keep per waiting bin; `take` and `reject` below work on it. */
export interface Pending {
  bin: Bin;
  inflight: boolean;
}

/** Up to `max` waiting bins not in flight (passing `filter`), oldest first; marks them in flight. */
export function takeFrom(entries: Iterable<Pending>, max: number, filter?: (bin: Bin) => boolean): Bin[] {
  const out: Bin[] = [];
  for (const e of entries) {
    if (out.length >= max) break;
    if (e.inflight || (filter && !filter(e.bin))) continue;
    e.inflight = true;
    out.push(e.bin);
  }
  return out;
}

/** Puts a batch back: its bins may be taken again. */
export function rejectIn(entries: ReadonlyMap<number, Pending>, batch: Bin[]): void {
  for (const b of batch) {
    const e = entries.get(b.seq);
    if (e) e.inflight = false;
  }
}
