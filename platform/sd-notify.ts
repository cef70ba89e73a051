/**
 * systemd readiness and watchdog (sd_notify(3)): `READY=1` once started, `WATCHDOG=1` while the main loop is
 * healthy, `STOPPING=1` at shutdown. A no-op, spawning nothing, when `NOTIFY_SOCKET` is unset (not under a
 * `Type=notify` unit).
 *
 * Node has no AF_UNIX datagram sockets in core, so each message is one run of the `systemd-notify` binary. The
 * sender is then a child process, which is why the units say `NotifyAccess=all`. systemd-notify (since v246)
 * waits on a BARRIER after sending: systemd closes the barrier once it has processed the message, so the
 * message is attributed to the unit while the short-lived sender still exists (with `--no-block` systemd can
 * find it already gone and drop the message). A receiver that is not systemd never answers the barrier and
 * systemd-notify would wait 5 s and then report ERRNO=110 to it; the timeout below kills it before that.
 * Failures are logged once and never thrown: readiness is not worth crashing a service over.
 */
import { execFile as nodeExecFile } from 'node:child_process';
import { createConnection } from 'node:net';
import type { Logger } from 'pino';

/** The subset of `child_process.execFile` used here; tests pass a fake. */
export type ExecFile = (
  file: string,
  args: string[],
  options: { env: NodeJS.ProcessEnv; timeout: number; killSignal: NodeJS.Signals },
  callback: (err: (Error & { code?: unknown; killed?: boolean }) | null, stdout: string, stderr: string) => void,
) => unknown;

export interface SdNotifier {
  ready(status?: string): void;
  stopping(): void;
  status(text: string): void;
  /** Feeds the watchdog every WATCHDOG_USEC / 2 while `healthy()`; returns the cancel. A no-op without a watchdog. */
  startWatchdog(healthy: () => boolean): () => void;
}

/** Real systemd answers the barrier in milliseconds; anything else is killed before systemd-notify's own 5 s. */
const SEND_TIMEOUT_MS = 2_000;

export function sdNotifier(env: NodeJS.ProcessEnv, logger: Logger, execFile: ExecFile = nodeExecFile as unknown as ExecFile): SdNotifier {
  const socket = env.NOTIFY_SOCKET;
  let failed = false;
  const send = (...assignments: string[]): void => {
    if (!socket) return;
    execFile('systemd-notify', assignments, { env, timeout: SEND_TIMEOUT_MS, killSignal: 'SIGKILL' }, (err, _stdout, stderr) => {
      if (!err || failed) return;
      failed = true;
      const why = err.killed ? `no answer within ${SEND_TIMEOUT_MS} ms (is ${socket} systemd's socket?)` : (stderr.trim() || err.message);
      logger.warn({ notify_socket: socket, message: assignments.join(' ') }, `systemd-notify failed: ${why}; further failures are not logged`);
    });
  };

  return {
    ready: (status) => send('READY=1', ...(status ? [`STATUS=${status}`] : [])),
    stopping: () => send('STOPPING=1'),
    status: (text) => send(`STATUS=${text}`),

    startWatchdog(healthy) {
      const usec = Number(env.WATCHDOG_USEC);
      // WATCHDOG_PID names the process systemd watches; when it is another one (we were started by it), feeding is its job.
      if (!socket || !(usec > 0) || (env.WATCHDOG_PID && Number(env.WATCHDOG_PID) !== process.pid)) return () => {};
      // Half the timeout, as sd_watchdog_enabled(3) recommends: one late tick does not get the service killed.
      const interval_ms = Math.max(1, Math.floor(usec / 2_000));
      let unhealthy = false;
      const timer = setInterval(() => {
        if (healthy()) {
          if (unhealthy) logger.info('main loop healthy again: feeding the systemd watchdog');
          unhealthy = false;
          send('WATCHDOG=1');
        } else if (!unhealthy) {
          unhealthy = true;
          logger.warn({ watchdog_ms: usec / 1000 }, 'main loop unhealthy: not feeding the systemd watchdog, which restarts the service if this lasts');
        }
      }, interval_ms);
      timer.unref(); // the watchdog never keeps a process alive on its own
      return () => clearInterval(timer);
    },
  };
}

/**
 * A watchdog predicate from an async check: each call starts `check` (unless one is still running) and says
 * whether a check succeeded within the last `max_age_ms`. A check that hangs (a wedged outbox, a listener
 * gone) makes it false within `max_age_ms`; one that fails now and then does not. Counting from creation
 * gives the first check time to finish.
 */
export function recentlySucceeded(check: () => Promise<boolean>, max_age_ms: number, now: () => number = Date.now): () => boolean {
  let last_ok = now();
  let running = false;
  return () => {
    if (!running) {
      running = true;
      check().then(
        (ok) => {
          if (ok) last_ok = now();
          running = false;
        },
        () => (running = false),
      );
    }
    return now() - last_ok <= max_age_ms;
  };
}

/** Whether something accepts TCP connections at host:port (a wildcard host is tried on loopback). */
export function accepting(host: string, port: number, timeout_ms = 2_000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: loopbackFor(host), port, timeout: timeout_ms });
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.once('connect', () => done(true));
    socket.once('timeout', () => done(false));
    socket.once('error', () => done(false));
  });
}

/** Whether GET http://host:port/path answers 2xx within the timeout. */
export async function answering(host: string, port: number, path: string, timeout_ms = 2_000): Promise<boolean> {
  const h = loopbackFor(host);
  const res = await fetch(`http://${h.includes(':') ? `[${h}]` : h}:${port}${path}`, { signal: AbortSignal.timeout(timeout_ms) });
  await res.body?.cancel();
  return res.ok;
}

function loopbackFor(host: string): string {
  return host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '::1' : host;
}

/**
 * What a composition root calls: `ready()` once really started (it also starts feeding the watchdog while
 * `check` keeps succeeding) and `stopping()` first thing at shutdown. Without `check` the watchdog is fed while
 * the event loop turns: a blocked or spinning loop runs no timer, so nothing is sent and systemd restarts the
 * process after WatchdogSec. With it, the process-specific check must also have succeeded in the last
 * `max_age_ms`. The default, 1.25 × WatchdogSec, falls between ticks (they come every half WatchdogSec), so
 * a check that hangs stops the feeding at the second tick after it started and systemd restarts the process
 * about 1.5 × WatchdogSec after the hang began.
 */
export function systemdService(env: NodeJS.ProcessEnv, logger: Logger, check?: () => Promise<boolean>, max_age_ms = (1.25 * Number(env.WATCHDOG_USEC)) / 1000 || 60_000): { ready(status?: string): void; stopping(): void } {
  const notifier = sdNotifier(env, logger);
  let cancel = (): void => {};
  return {
    ready(status) {
      notifier.ready(status);
      cancel = notifier.startWatchdog(check ? recentlySucceeded(check, max_age_ms) : () => true);
    },
    stopping() {
      cancel();
      notifier.stopping();
    },
  };
}
