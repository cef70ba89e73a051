/**
 * Where committed window rows go: to the 'window' event (API, dashboard) and to the windows topic, a
 * downstream copy for other consumers, one record per station (protocol/window-records.ts). PostgreSQL already holds every result, so a failed publish is logged,
 * not retried; `published()` lets a clean stop drop none that are on their way.
 */
import type { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import { frozenJson, windowRecords, type WindowResult } from '../protocol/index.ts';
import type { Clock } from '../platform/clock.ts';
import { inSlices, type Turn } from '../platform/slices.ts';
import type { LogProducer } from '../platform/log/log.ts';
import type { StationIndex } from './keys.ts';
import type { CentralMetrics } from './metrics.ts';
import type { WindowRow } from './store/rows.ts';
import { toWindowResult } from './windows/result.ts';

export interface WindowPublisherDeps {
  clock: Clock;
  events: EventEmitter;
  logger: Logger;
  metrics: CentralMetrics;
  index: StationIndex;
  topic: string;
  grace_ms: number;
  /** What `emitInSlices` awaits between slices (central/background.ts). */
  turn: Turn;
}

export class WindowPublisher {
  private producer: LogProducer | null = null;
  private readonly inFlight = new Set<Promise<void>>();
  private readonly deps: WindowPublisherDeps;

  constructor(deps: WindowPublisherDeps) {
    this.deps = deps;
  }

  /** The producer results go out on; none (before start, after stop) means events only. */
  attach(producer: LogProducer | null): void {
    this.producer = producer;
  }

  /** Emits the results of these rows and sends them to the log; returns the results. */
  emit(rows: WindowRow[]): WindowResult[] {
    const { clock, events, metrics, index, grace_ms } = this.deps;
    const results = rows.map((r) => toWindowResult(r, index.lookup));
    for (const w of results) {
      metrics.windowsEmitted.inc({ level: w.level, state: w.state });
      frozenJson(w); // made once here; the event stream and the log below both write it
      events.emit('window', w);
    }
    // A provisional result for a window already past its end + grace is superseded by the final one within a
    // finalisation pass, so the log gets only that: a backlog then costs one message a window, not two.
    const now = clock.now();
    const outgoing = results.filter((w) => w.state !== 'provisional' || w.window_end_ms + grace_ms > now);
    if (this.producer && outgoing.length > 0) {
      const sent: Promise<void> = this.producer
        .send(this.deps.topic, windowRecords(outgoing, (w) => index.logKey(w)))
        .catch((err: unknown) => this.deps.logger.warn({ err }, 'could not publish window results to the log'))
        .finally(() => this.inFlight.delete(sent));
      this.inFlight.add(sent);
    }
    return results;
  }

  /**
   * As `emit`, a slice at a time with the event loop running in between (platform/slices.ts): for the thousands
   * of rows of a finalisation pass. Each slice goes to the log as it is emitted, in order.
   */
  emitInSlices(rows: WindowRow[]): Promise<WindowResult[]> {
    return inSlices(rows, (slice) => this.emit(slice), this.deps.turn);
  }

  /** Settles once every result emitted so far has been acknowledged by the log (or failed, logged). */
  async published(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }
}
