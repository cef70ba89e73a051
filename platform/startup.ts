/**
 * Start-up that waits for its services. Central and the gateway are often started beside PostgreSQL and Kafka
 * (a reboot, `docker compose up`, a Kubernetes rollout), so a service that is not reachable yet is waited for,
 * with backoff and a log line per attempt naming what is awaited, up to a limit. Only a retriable error
 * (connection refused, timed out, broker not up) is waited for: a wrong password or a missing database fails
 * at once, as no amount of waiting mends it.
 */
import type { Logger } from 'pino';
import { WacoflowError } from './errors.ts';

export interface StartupWait {
  logger: Logger;
  /** Give up after this many seconds of trying (0: one attempt). */
  limit_s: number;
  /** The setting that holds the limit, for the message when it runs out. */
  setting: string;
  /** First pause between attempts; it doubles up to `max_delay_ms`. */
  first_delay_ms?: number;
  max_delay_ms?: number;
}

export async function waitForService<T>(what: string, attempt: () => Promise<T>, o: StartupWait): Promise<T> {
  const started = Date.now();
  let delay = o.first_delay_ms ?? 500;
  for (let n = 1; ; n++) {
    try {
      const value = await attempt();
      if (n > 1) o.logger.info({ attempts: n, waited_s: Math.round((Date.now() - started) / 1000) }, `${what} is reachable`);
      return value;
    } catch (err) {
      if (!(err instanceof WacoflowError) || !err.retriable) throw err;
      const waited_ms = Date.now() - started;
      if (waited_ms + delay > o.limit_s * 1000) {
        throw new WacoflowError(err.code, `${err.message}; gave up after ${Math.round(waited_ms / 1000)} s (${o.setting}: ${o.limit_s})`, { retriable: false, cause: err });
      }
      o.logger.warn({ attempt: n, retry_in_ms: delay }, `waiting for ${what}: ${err.message}`);
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(o.max_delay_ms ?? 10_000, delay * 2);
    }
  }
}
