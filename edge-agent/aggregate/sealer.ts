/**
 * Moves sealed bins from the binner into the outbox. If the outbox refuses them (disk full, I/O error) they
 * wait here, in memory, and go first at the next attempt; past `max_unsaved` the oldest are dropped and
 * counted. Flushes run one at a time.
 */
import type { Bin } from '../../protocol/index.ts';
import type { Outbox } from '../outbox/outbox.ts';
import type { BinDraft, Binner } from './binner.ts';

export interface SealerDeps {
  binner: Binner;
  outbox: Outbox;
  stamp(): Pick<Bin, 'device_id' | 'clock'>;
  onDropped(dropped: Record<string, number>): void;
  onOutboxError(err: Error | null): void;
}

export class Sealer {
  private readonly deps: SealerDeps;
  private readonly max_unsaved: number;
  private unsaved: BinDraft[] = [];
  private lastError: string | null = null;
  private chain: Promise<void> = Promise.resolve();

  constructor(deps: SealerDeps, max_unsaved: number) {
    this.deps = deps;
    this.max_unsaved = max_unsaved;
  }

  /** Bins sealed but not yet in the outbox. */
  pending(): number {
    return this.unsaved.length;
  }

  /** Hands the sealed bins not yet in the outbox to whoever takes over (an agent on a new configuration). */
  takeUnsaved(): BinDraft[] {
    const drafts = this.unsaved;
    this.unsaved = [];
    return drafts;
  }

  /** Takes over sealed bins that another sealer could not save; they go first at the next flush. */
  restoreUnsaved(drafts: BinDraft[]): void {
    this.unsaved = [...drafts, ...this.unsaved];
  }

  error(): string | null {
    return this.lastError;
  }

  flush(now_ms: number): Promise<void> {
    const run = this.chain.then(async () => {
      const drafts = [...this.unsaved, ...this.deps.binner.seal(now_ms)];
      this.unsaved = [];
      if (drafts.length === 0) return;
      try {
        await this.deps.outbox.append(drafts, this.deps.stamp());
        if (this.lastError) this.deps.onOutboxError(null);
        this.lastError = null;
      } catch (err) {
        this.lastError = (err as Error).message;
        this.deps.onOutboxError(err as Error);
        this.unsaved = drafts.slice(-this.max_unsaved);
        const lost = drafts.length - this.unsaved.length;
        if (lost > 0) this.deps.onDropped({ outbox_unavailable: lost });
      }
    });
    this.chain = run.catch(() => {});
    return run;
  }

  /** Resolves when the flush in progress (if any) is done. */
  idle(): Promise<void> {
    return this.chain;
  }
}
