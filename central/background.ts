/**
 * Turns for central's background work: a finalisation pass emitting and analysing every window of a slot, and
 * the rolling view's refresh, both done a slice at a time (platform/slices.ts).
 *
 * A turn of the event loop between slices is not enough under live load. An ingest transaction makes six or
 * more round trips to PostgreSQL, and each answer waits for the slice running when it arrives, so a pass over
 * a 10,000-station city (60,000 windows, some 3 s of central's CPU) added a slice to every round trip of every
 * transaction for as long as it ran, and the bins of those seconds waited up to 1.8 s (docs/benchmarks.md).
 * Here background work also gives way to a live transaction in flight: it waits for that transaction to
 * settle, so each transaction meets at most one slice. A backlog's groups are not live (their bins are
 * already late, and a pass that waits for them slows the backlog's finalisation), and a pass never stalls:
 * it waits at most `max_wait_ms` a turn.
 */
import { yieldToLoop, type Turn } from '../platform/slices.ts';

/** What background work gives way to: central's group commit of bins (consume/group-commit.ts). */
export interface Foreground {
  /** A transaction of live traffic is in flight. */
  live(): boolean;
  /** Resolves as the next transaction in flight settles. */
  settling(): Promise<void>;
}

/** Turns that give way to `foreground()` (null before central consumes). */
export function givingWayTo(foreground: () => Foreground | null, max_wait_ms = 50): Turn {
  return async () => {
    await yieldToLoop();
    const f = foreground();
    if (!f?.live()) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([f.settling(), new Promise<void>((resolve) => (timer = setTimeout(resolve, max_wait_ms)))]);
    clearTimeout(timer);
  };
}
