/**
 * The wrapper every input runs in: it owns the poll timer, the per-read timeout, exponential backoff with
 * jitter after failures, the de-duplication of samples a feed repeats (feeds return their last few intervals),
 * the input's health state and its counters.
 */
import type { Logger } from 'pino';
import type { Sample } from '../../protocol/index.ts';
import type { Cancel, Clock } from '../../platform/clock.ts';
import { PayloadError } from '../../platform/errors.ts';
import type { DeadLetterStore } from '../health/dead-letters.ts';
import { Breaker } from '../../platform/breaker.ts';
import type { Input } from './input.ts';

export interface InputStatus {
  name: string;
  driver: string;
  state: 'starting' | 'ok' | 'degraded' | 'failed' | 'stopped';
  breaker: 'closed' | 'open' | 'half_open';
  last_error: string | null;
  samples_total: number;
  dropped_total: number;
  /** Circuit-breaker transitions since start, by the state entered. */
  breaker_transitions: { open: number; half_open: number; closed: number };
}

export interface RunningInputOptions {
  timeout_ms: number;
  backoff_initial_ms: number;
  backoff_max_ms: number;
  /** Consecutive failures after which the input reports `failed` instead of `degraded`. */
  failed_after: number;
  /** Consecutive failures that open the circuit breaker, and how long it stays open before a trial read. */
  breaker_threshold: number;
  breaker_open_ms: number;
  /** Samples older than this, or further ahead than max_sample_future_ms, are dropped (time_out_of_range). */
  max_sample_age_ms: number;
  max_sample_future_ms: number;
}

export class RunningInput {
  readonly input: Input;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly options: RunningInputOptions;
  private readonly onSamples: (samples: Sample[], input: Input) => void;
  private readonly onDetectors: ((detectors: { detector_id: string; station_id: string }[], input: Input) => void) | undefined;
  private readonly onDropped: (dropped: Record<string, number>) => void;
  private readonly deadLetters: DeadLetterStore | undefined;
  private readonly newest = new Map<string, number>();
  private status: InputStatus;
  private readonly breaker: Breaker;
  private failures = 0;
  private cancel: Cancel | null = null;
  private abort = new AbortController();
  private running = false;

  constructor(
    input: Input,
    deps: {
      clock: Clock;
      logger: Logger;
      onSamples: (samples: Sample[], input: Input) => void;
      onDetectors?: (detectors: { detector_id: string; station_id: string }[], input: Input) => void;
      onDropped: (dropped: Record<string, number>) => void;
      deadLetters?: DeadLetterStore;
    },
    options: RunningInputOptions,
  ) {
    this.input = input;
    this.clock = deps.clock;
    this.logger = deps.logger.child({ input: input.name, driver: input.driver });
    this.onSamples = deps.onSamples;
    this.onDetectors = deps.onDetectors;
    this.onDropped = deps.onDropped;
    this.deadLetters = deps.deadLetters;
    this.options = options;
    this.breaker = new Breaker({ failure_threshold: options.breaker_threshold, open_ms: options.breaker_open_ms });
    this.status = { name: input.name, driver: input.driver, state: 'starting', breaker: 'closed', last_error: null, samples_total: 0, dropped_total: 0, breaker_transitions: this.breaker.transitions };
  }

  /**
   * Per detector, the first sample start not yet taken (the newest taken, plus one): what a successor on the same
   * bins resumes from, so that `resume(marks())` takes nothing twice.
   */
  marks(): Map<string, number> {
    return new Map([...this.newest].map(([detector, start]) => [detector, start + 1]));
  }

  /**
   * Continues after a restart: samples that start before a detector's mark are already in durable bins, so a
   * feed that repeats its history is not counted twice.
   */
  resume(marks: ReadonlyMap<string, number>): void {
    for (const [detector, end] of marks) this.newest.set(detector, Math.max(this.newest.get(detector) ?? -Infinity, end - 1));
  }

  snapshot(): InputStatus {
    return { ...this.status, breaker: this.breaker.state(this.clock.now()), breaker_transitions: { ...this.breaker.transitions } };
  }

  start(): void {
    this.running = true;
    this.abort = new AbortController();
    this.schedule(0);
  }

  stop(): void {
    this.running = false;
    this.cancel?.();
    this.abort.abort();
    this.status.state = 'stopped';
    void this.input.close?.().catch(() => {});
  }

  /** One read now; exposed for tests. Resolves after the samples were handed on. */
  async pollOnce(): Promise<void> {
    if (!this.breaker.allows(this.clock.now())) return;
    const trial = this.breaker.state(this.clock.now()) === 'half_open';
    if (trial) this.logger.info('circuit breaker half-open: one trial read');
    const signal = AbortSignal.any([this.abort.signal, AbortSignal.timeout(this.options.timeout_ms)]);
    try {
      const reading = await this.input.read(signal);
      // Feeds repeat their last few intervals: keep what is newer than anything seen before this read, in
      // whatever order the feed lists it, then move each detector's mark to the newest it just delivered.
      const now = this.clock.now();
      const inThisRead = new Set<string>();
      let outOfRange = 0;
      const fresh = reading.samples.filter((s) => {
        // A sensor whose clock was reset (SS105 counts from 2000) or runs ahead must not make the binner fill
        // years of empty bins, nor hide every later sample behind a future mark.
        if (s.start_ms < now - this.options.max_sample_age_ms || s.start_ms > now + this.options.max_sample_future_ms) {
          outOfRange++;
          return false;
        }
        const newest = this.newest.get(s.detector_id);
        if (newest !== undefined && s.start_ms <= newest) return false;
        const k = `${s.detector_id}\u0000${s.start_ms}`;
        if (inThisRead.has(k)) return false; // listed twice in one document
        inThisRead.add(k);
        return true;
      });
      if (outOfRange > 0) reading.dropped = { ...reading.dropped, time_out_of_range: (reading.dropped.time_out_of_range ?? 0) + outOfRange };
      for (const s of fresh) this.newest.set(s.detector_id, Math.max(this.newest.get(s.detector_id) ?? -Infinity, s.start_ms));
      const droppedCount = Object.values(reading.dropped).reduce((a, b) => a + b, 0);
      this.status.samples_total += fresh.length;
      this.status.dropped_total += droppedCount;
      if (droppedCount > 0) this.onDropped(reading.dropped);
      if (reading.detectors && reading.detectors.length > 0) this.onDetectors?.(reading.detectors, this.input);
      if (fresh.length > 0) this.onSamples(fresh, this.input);
      if (this.failures > 0) this.logger.info({ after_failures: this.failures }, 'input recovered');
      this.failures = 0;
      this.breaker.success(this.clock.now());
      if (trial) this.logger.info('circuit breaker closed: the trial read succeeded');
      this.status.state = 'ok';
      this.status.last_error = null;
    } catch (err) {
      if (!this.running && this.abort.signal.aborted) return;
      if (err instanceof PayloadError) this.deadLetters?.keep(this.input.name, err.message, err.payload, this.clock.now());
      this.failures++;
      this.breaker.failure(this.clock.now());
      // The first opening is news; a failed trial re-opening it is not (the breaker counts each one).
      if (!trial && this.breaker.state(this.clock.now()) === 'open') {
        this.logger.warn({ failures: this.failures, open_ms: this.options.breaker_open_ms }, 'circuit breaker open: not reading this input for a while');
      }
      const message = signal.aborted ? `no answer within ${this.options.timeout_ms} ms` : (err as Error).message;
      this.status.last_error = message;
      this.status.state = this.failures >= this.options.failed_after ? 'failed' : 'degraded';
      if (this.failures === 1 || this.failures % 10 === 0) this.logger.warn({ failures: this.failures, err: message }, 'input read failed');
    }
  }

  private schedule(delay_ms: number): void {
    if (!this.running) return;
    this.cancel = this.clock.after(delay_ms, () => {
      void this.pollOnce().then(() => this.schedule(this.nextDelay()));
    });
  }

  /** The poll interval when healthy; after failures, exponential backoff with full jitter, capped; while the breaker is open, until it half-opens. */
  private nextDelay(): number {
    if (this.failures === 0) return this.input.poll_interval_ms;
    const wait = this.breaker.wait(this.clock.now());
    if (wait > 0) return wait;
    const ceiling = Math.min(this.options.backoff_max_ms, this.options.backoff_initial_ms * 2 ** (this.failures - 1));
    return Math.max(this.options.backoff_initial_ms, Math.round(Math.random() * ceiling));
  }
}
