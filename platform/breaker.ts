/**
 * A circuit breaker (an agent's input, the gateway's Kafka producer): after `failure_threshold` consecutive failed reads it opens and the input is
 * not read for `open_ms`; then one trial read is let through (half-open): success closes it, failure opens it
 * again. A detector that is down stops costing the board a timeout every poll, and its state is reported.
 */
export type BreakerState = 'closed' | 'open' | 'half_open';

export interface BreakerOptions {
  failure_threshold: number;
  open_ms: number;
}

export class Breaker {
  /** Transitions since construction, by the state entered; a trial's entry into half_open is counted with its outcome. */
  readonly transitions: Record<BreakerState, number> = { open: 0, half_open: 0, closed: 0 };
  private readonly options: BreakerOptions;
  private failures = 0;
  private opened_at: number | null = null;

  constructor(options: BreakerOptions) {
    this.options = options;
  }

  state(now_ms: number): BreakerState {
    if (this.opened_at === null) return 'closed';
    return now_ms - this.opened_at >= this.options.open_ms ? 'half_open' : 'open';
  }

  /** Whether a read may go ahead now. */
  allows(now_ms: number): boolean {
    return this.state(now_ms) !== 'open';
  }

  /** Milliseconds until the next read is allowed (0 when allowed now). */
  wait(now_ms: number): number {
    return this.opened_at === null ? 0 : Math.max(0, this.opened_at + this.options.open_ms - now_ms);
  }

  success(now_ms: number): void {
    const was = this.state(now_ms);
    if (was === 'half_open') this.transitions.half_open++;
    if (was !== 'closed') this.transitions.closed++;
    this.failures = 0;
    this.opened_at = null;
  }

  failure(now_ms: number): void {
    const was = this.state(now_ms);
    if (was === 'half_open') this.transitions.half_open++;
    this.failures++;
    // A failed trial re-opens at once; otherwise open at the threshold.
    if (this.opened_at !== null || this.failures >= this.options.failure_threshold) {
      this.opened_at = now_ms;
      if (was !== 'open') this.transitions.open++;
    }
  }
}
