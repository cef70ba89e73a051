/**
 * Request/response over a serial link for polled sensors: write a request, wait for the first frame that
 * answers it or time out. Frames that arrive unasked (noise, late answers) are ignored by the matcher.
 */
import type { SerialLink } from './link.ts';

export class Exchange<F> {
  private waiter: { match: (f: F) => boolean; resolve: (f: F | null) => void; timer: NodeJS.Timeout } | null = null;

  /** Call with every decoded frame. */
  offer(frame: F): void {
    if (this.waiter?.match(frame)) this.waiter.resolve(frame);
  }

  /** Sends `bytes` and resolves with the first matching frame, or null after `timeout_ms` (or on abort). */
  async ask(link: SerialLink, bytes: Buffer, match: (f: F) => boolean, timeout_ms: number, signal: AbortSignal): Promise<F | null> {
    let mine: { match: (f: F) => boolean; resolve: (f: F | null) => void; timer: NodeJS.Timeout } | null = null;
    const answer = new Promise<F | null>((resolve) => {
      const done = (f: F | null): void => {
        signal.removeEventListener('abort', onAbort);
        clearTimeout(w.timer);
        if (this.waiter === w) this.waiter = null; // never clear a later request's waiter
        resolve(f);
      };
      const onAbort = (): void => done(null);
      const w = { match, resolve: done, timer: setTimeout(() => done(null), timeout_ms) };
      mine = w;
      this.waiter = w;
      signal.addEventListener('abort', onAbort, { once: true });
    });
    try {
      await link.write(bytes);
    } catch (err) {
      (mine as { resolve: (f: F | null) => void } | null)?.resolve(null);
      throw err;
    }
    return answer;
  }
}
