/**
 * Every component takes a `Clock` instead of calling `Date.now()` or `setTimeout` itself, so the simulator can
 * run time N times faster and tests can step it by hand.
 */

export type Cancel = () => void;

export interface Clock {
  /** Current time, UTC epoch milliseconds (an integer). */
  now(): number;
  /** Runs `fn` once after `ms` of clock time. */
  after(ms: number, fn: () => void): Cancel;
  /** Runs `fn` every `ms` of clock time until cancelled. */
  every(ms: number, fn: () => void): Cancel;
  /** Resolves after `ms` of clock time, or early (without rejecting) when `signal` aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
  /** Simulated milliseconds per real millisecond (1 for the system clock). */
  readonly speedup: number;
}

function sleepWith(after: Clock['after'], ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const onAbort = (): void => {
      cancel();
      resolve();
    };
    const cancel = after(ms, () => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    });
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Wall-clock time scaled by `speedup` from `start_ms` (default: now). With speedup 1 and no start it is the
 * system clock. Timers are scaled too, so a 60 s poll interval at speedup 10 fires every 6 real seconds.
 */
export function scaledClock(speedup = 1, start_ms?: number, real_anchor_ms?: number): Clock {
  if (!(speedup > 0)) throw new RangeError(`speedup must be > 0, got ${speedup}`);
  // With an anchor, processes started at different moments agree on simulated time (start_ms at real_anchor_ms).
  const realStart = real_anchor_ms ?? Date.now();
  const simStart = start_ms ?? realStart;
  const real = (ms: number): number => Math.max(0, ms / speedup);
  const clock: Clock = {
    speedup,
    now: () => (speedup === 1 && start_ms === undefined ? Date.now() : Math.floor(simStart + (Date.now() - realStart) * speedup)),
    after(ms, fn) {
      const t = setTimeout(fn, real(ms));
      return () => clearTimeout(t);
    },
    every(ms, fn) {
      const t = setInterval(fn, Math.max(1, real(ms)));
      return () => clearInterval(t);
    },
    sleep: (ms, signal) => sleepWith(clock.after, ms, signal),
  };
  return clock;
}

export const systemClock: Clock = scaledClock(1);

/** How often, in real ms, a timer whose time has not come re-checks a clock that is being held back. */
const HELD_RECHECK_MS = 20;

/**
 * A clock that runs at `inner`'s pace but never passes `limit()`. While the limit holds it, time stands still;
 * when the limit moves on, time runs on from where it stood, without a jump. Timers are due in this clock's
 * time, so a held clock makes them late, never early. The simulator uses it when something slower than the
 * asked speed-up produces the traffic (SUMO): simulated time then waits for the simulation instead of
 * outrunning it.
 */
export function heldClock(inner: Clock, limit: () => number): Clock {
  let sim = inner.now();
  let innerAt = sim;
  const now = (): number => {
    const i = inner.now();
    sim = Math.max(sim, Math.min(sim + (i - innerAt), limit()));
    innerAt = i;
    return sim;
  };
  /** Runs `fn` once this clock reaches `due`. */
  const at = (due: number, fn: () => void): Cancel => {
    let cancel: Cancel = () => {};
    const check = (): void => {
      const left = due - now();
      if (left <= 0) fn();
      else cancel = inner.after(Math.max(left, HELD_RECHECK_MS * inner.speedup), check);
    };
    cancel = inner.after(Math.max(0, due - now()), check);
    return () => cancel();
  };
  const clock: Clock = {
    speedup: inner.speedup,
    now,
    after: (ms, fn) => at(now() + ms, fn),
    every(ms, fn) {
      let cancel: Cancel;
      const next = (due: number): void => {
        cancel = at(due, () => {
          next(Math.max(due + ms, now() + 1));
          fn();
        });
      };
      next(now() + Math.max(1, ms));
      return () => cancel();
    },
    sleep: (ms, signal) => sleepWith(clock.after, ms, signal),
  };
  return clock;
}

/** A clock that moves only when told: `advance` fires due timers in time order. For tests. */
export class ManualClock implements Clock {
  readonly speedup = 1;
  private t: number;
  private nextId = 0;
  private readonly timers = new Map<number, { due: number; fn: () => void; period: number | null }>();

  constructor(start_ms: number) {
    this.t = start_ms;
  }

  now(): number {
    return this.t;
  }

  after(ms: number, fn: () => void): Cancel {
    const id = this.nextId++;
    this.timers.set(id, { due: this.t + ms, fn, period: null });
    return () => this.timers.delete(id);
  }

  every(ms: number, fn: () => void): Cancel {
    const id = this.nextId++;
    this.timers.set(id, { due: this.t + ms, fn, period: Math.max(1, ms) });
    return () => this.timers.delete(id);
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return sleepWith(this.after.bind(this), ms, signal);
  }

  /** Moves time forward by `ms`, running every timer that falls due on the way, in order. */
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      let nextId = -1;
      let next: { due: number; fn: () => void; period: number | null } | undefined;
      for (const [id, timer] of this.timers) {
        if (timer.due <= end && (!next || timer.due < next.due)) [nextId, next] = [id, timer];
      }
      if (!next) break;
      this.t = next.due;
      if (next.period === null) this.timers.delete(nextId);
      else next.due += next.period;
      next.fn();
    }
    this.t = end;
  }
}
