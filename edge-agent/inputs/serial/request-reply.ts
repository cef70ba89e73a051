/**
 * Request/response over a serial link for polled sensors: write a request, wait for the first frame that
 * answers it or time out. Frames that arrive unasked (noise, late answers) are ignored by the matcher.
 */
import type { SerialLink } from './link.ts';

export class Exchange<F> {
  private waiter: { match: (f: F) => boolean; resolve: (f: F | null) => void; timer: NodeJS.Timeout } | null = null;

  /** Call with every decoded frame. */
  offer(frame: F): void {
    if (this.waiter?.match(frame)) {
      const w = this.waiter;
      this.waiter = null;
      clearTimeout(w.timer);
      w.resolve(frame);
    }
  }

  /** Sends `bytes` and resolves with the first matching frame, or null after `timeout_ms` (or on abort). */
  async ask(link: SerialLink, bytes: Buffer, match: (f: F) => boolean, timeout_ms: number, signal: AbortSignal): Promise<F | null> {
    const answer = new Promise<F | null>((resolve) => {
      const done = (f: F | null): void => {
        signal.removeEventListener('abort', onAbort);
        resolve(f);
      };
      const onAbort = (): void => {
        if (this.waiter) clearTimeout(this.waiter.timer);
        this.waiter = null;
        done(null);
      };
      this.waiter = { match, resolve: done, timer: setTimeout(() => { this.waiter = null; done(null); }, timeout_ms) };
      signal.addEventListener('abort', onAbort, { once: true });
    });
    await link.write(bytes);
    return answer;
  }
}
