/**
 * The work one central instance does for all, under a lease in PostgreSQL: finalising due windows (and filling
 * in no_data), then analytics on what became final: alerts and forecasts, stored and published. Another instance
 * takes over within one lease when the holder stops; the new holder first replays recent history into the
 * models without reporting, so persistence checks and baselines carry on where they were.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { encode, type Alert, type WindowResult } from '../protocol/index.ts';
import type { Clock } from '../platform/clock.ts';
import type { LogProducer } from '../platform/log/log.ts';
import { inSlices, SLICE, yieldToLoop, type Turn } from '../platform/slices.ts';
import { Analytics } from './analytics.ts';
import type { StationForecast } from './forecast/station.ts';
import { ROLLING_SPAN_MS, rollingAsWindow, type StationShare } from './store/analytics-store.ts';
import { DEFAULT_PARTITIONS, maintainPartitions } from './store/partitions.ts';
import type { Store } from './store/store.ts';
import type { WindowRow } from './store/rows.ts';

const LEASE = 'finalizer';
const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;
/** Stations whose forecasts go in one statement (three horizons each). */
const FORECASTS_PER_WRITE = 500;
/** How long the warm-up feeds history to the models before letting the event loop turn. */
const WARM_UP_TURN_MS = 10;

export interface FinalizerDeps {
  store: Store;
  clock: Clock;
  logger: Logger;
  /** Fresh models for each time this instance takes the lease (it rebuilds them from stored history). */
  newAnalytics(): Analytics;
  grace_ms: number;
  lease_ms: number;
  /**
   * What a pass's analysis and the rolling view await between slices (central/background.ts). The warm-up
   * only turns the event loop: it runs once, on taking the lease, and the passes wait for it.
   */
  turn: Turn;
  history_days: number;
  retention_days: number;
  /** Bins whose window ended longer ago than this are late events (see bin-ingest). */
  late_horizon_ms: number;
  /** Results for rows; also emits them to the API and the windows topic (a slice at a time). */
  emit(rows: WindowRow[]): Promise<WindowResult[]>;
  toResult(row: WindowRow): WindowResult;
  producer(): LogProducer | null;
  alerts_topic: string;
  /** The station an alert's key belongs to (a detector's station), for the topic's key. */
  stationOf(key: string): string;
  onAlert(alert: Alert): void;
  onForecast(forecast: StationForecast): void;
  onRolling(result: WindowResult): void;
  /** Learned free-flow speeds as stored, after every pass (whoever leads learns them; everyone uses them). */
  onLearnedFreeFlow(learned: ReadonlyMap<string, number>): void;
}

export class Finalizer {
  private readonly holder = randomUUID();
  private leading = false;
  private maintained_ms = -Infinity;
  private analytics: Analytics | null = null;
  /** Learned free-flow speeds as last written, so a pass writes only what moved. */
  private savedFreeFlow = new Map<string, number>();
  private readonly deps: FinalizerDeps;

  constructor(deps: FinalizerDeps) {
    this.deps = deps;
  }

  /**
   * Makes the day partitions of the windows table due around `now` and drops the expired ones: every hour on
   * the lease holder's pass, and by every instance at start, before its first batch (a backlog written before
   * its day's partition exists lands in the default partition and must be moved later).
   */
  maintainPartitions(now: number): Promise<{ created: string[]; dropped: string[] }> {
    return maintainPartitions(this.deps.store.db, now, { ...DEFAULT_PARTITIONS, retention_days: this.deps.retention_days });
  }

  /** Takes or renews the lease; on losing it, drops the models (a later take-over rebuilds them). */
  private async renew(): Promise<boolean> {
    const held = await this.deps.store.analytics.lease(LEASE, this.holder, this.deps.clock.now(), this.deps.lease_ms);
    if (!held && this.leading) this.deps.logger.warn('lost the finalizer lease to another central instance');
    this.leading = held;
    if (!held) this.analytics = null;
    return held;
  }

  /** One pass: renew the lease, finalise what is due, analyse it. Returns the rows it changed (none when not leading). */
  async pass(): Promise<WindowResult[]> {
    const { store, clock } = this.deps;
    const now = clock.now();
    if (!(await this.renew())) {
      this.deps.onLearnedFreeFlow(await store.analytics.learnedFreeFlow());
      return [];
    }
    if (!this.analytics) {
      this.analytics = this.deps.newAnalytics();
      this.savedFreeFlow = new Map(); // another holder may have written since: write everything once
      // What other instances left for the previous holder is in the history the warm-up reads.
      await store.analytics.forgetWindowsToAnalyse();
      await this.warmUp(now, this.analytics);
      // Warming up can take a while: hold the lease again before doing anything on its strength.
      if (!(await this.renew())) return [];
      this.deps.logger.info('holding the finalizer lease: finalising windows and running analytics');
    }
    if (now - this.maintained_ms >= HOUR_MS) {
      try {
        const { created, dropped } = await this.maintainPartitions(now);
        if (created.length || dropped.length) this.deps.logger.info({ created, dropped }, 'window partitions maintained');
        // A day's margin past the horizon: bins that old can only be late events, which late_events dedupes.
        const forgotten = await store.pruneDedupe(now - this.deps.late_horizon_ms - DAY_MS);
        if (forgotten > 0) this.deps.logger.info({ forgotten }, 'dedupe entries past the late horizon forgotten');
        this.maintained_ms = now;
      } catch (err) {
        // Windows still land in the default partition meanwhile; finalisation must not wait for this.
        this.deps.logger.error({ err }, 'hourly maintenance (window partitions, dedupe retention) failed; retrying next pass');
      }
    }
    // First what other instances wrote final since the last pass (older windows, as a rule), then what is due now.
    await this.analyse((await store.analytics.takeWindowsToAnalyse()).map((r) => this.deps.toResult(r)));
    const results = await this.deps.emit(await store.finalizeDue(now, this.deps.grace_ms, undefined, { name: LEASE, holder: this.holder }));
    await this.analyse(results);
    const learned = this.analytics.learnedFreeFlow();
    const moved = new Map([...learned].filter(([k, v]) => this.savedFreeFlow.get(k) !== v));
    if (moved.size > 0) {
      await store.analytics.saveLearnedFreeFlow(moved);
      this.savedFreeFlow = learned;
      this.deps.onLearnedFreeFlow(learned);
    }
    return results;
  }

  /** Whether this instance runs the analytics now: it holds the lease and its models. */
  analysesHere(): boolean {
    return this.leading && this.analytics !== null;
  }

  /**
   * Windows this instance's ingest wrote final or revised (a backlog's, late bins') while it held the lease; when
   * it did not, the ingest left them for the holder instead (Store.leaveForAnalysis). Analysed if it still leads;
   * if it lost the lease meanwhile, the next holder's warm-up reads them from history.
   */
  async written(results: WindowResult[]): Promise<void> {
    if (this.leading) await this.analyse(results.filter((r) => r.state !== 'provisional'));
  }

  /**
   * The rolling view, on the lease holder: each station's last five minutes up to its own event-time progress
   * (of every station, or of a share of them).
   * Not a window of record: its results are provisional, revision 0, and only ever replaced by the next one.
   */
  async rolling(share?: StationShare): Promise<WindowResult[]> {
    if (!this.leading) return [];
    const now = this.deps.clock.now();
    const rows = await this.deps.store.analytics.refreshRolling(now, ROLLING_SPAN_MS, share, this.deps.turn);
    return inSlices(rows, (slice) => {
      const results = slice.map((r) => this.deps.toResult(rollingAsWindow(r)));
      for (const r of results) this.deps.onRolling(r);
      return results;
    }, this.deps.turn);
  }

  async stop(): Promise<void> {
    if (this.leading) await this.deps.store.analytics.release(LEASE, this.holder).catch(() => {});
    this.leading = false;
    this.analytics = null;
  }

  /**
   * Replays the stored final windows of the last `history_days` into the models, a day at a time: a month of a
   * 10,000-station city is 80 million windows, which must not be read at once, and with PGlite every query
   * runs on the event loop, so one large read would stall everything else in the process for seconds.
   */
  private async warmUp(now: number, analytics: Analytics): Promise<void> {
    const t = performance.now();
    let windows = 0;
    let turn = t;
    for (let from = now - this.deps.history_days * DAY_MS; from < now; from += DAY_MS) {
      const rows = await this.deps.store.analytics.finalWindowsBetween(['detector', 'station'], from, Math.min(from + DAY_MS, now));
      windows += rows.length;
      for (const slice of this.inTimeOrder(rows.map((r) => this.deps.toResult(r)))) {
        analytics.observe(slice, now, true);
        // A turn of the event loop every WARM_UP_TURN_MS, not every slice: the passes that make windows final
        // wait for the warm-up, and beside a busy city a turn per slice made a week of history take minutes.
        if (performance.now() - turn >= WARM_UP_TURN_MS) {
          await yieldToLoop();
          turn = performance.now();
        }
      }
    }
    this.deps.logger.info({ windows, ms: Math.round(performance.now() - t) }, 'analytics warmed up from stored windows');
  }

  /**
   * Results in time order, in slices of about SLICE windows. The models keep state per station and per detector,
   * and neighbouring stations are compared slot by slot, so each slice must follow every station's earlier
   * slots: fed one after another, time-ordered slices leave the models as one call would. (Slices of whole
   * stations, as before, fed a station's later windows before its neighbour's earlier ones.)
   */
  private inTimeOrder(results: WindowResult[]): WindowResult[][] {
    const sorted = [...results].sort((a, b) => a.window_start_ms - b.window_start_ms);
    const slices: WindowResult[][] = [];
    for (let i = 0; i < sorted.length; i += SLICE) slices.push(sorted.slice(i, i + SLICE));
    return slices;
  }

  private async analyse(results: WindowResult[]): Promise<void> {
    if (results.length === 0 || !this.analytics) return;
    const now = this.deps.clock.now();
    const alerts: Alert[] = [];
    // A station's windows can span slices: its newest forecast is the one kept.
    const newest = new Map<string, StationForecast>();
    for (const [i, slice] of this.inTimeOrder(results).entries()) {
      if (i > 0) await this.deps.turn();
      if (!this.analytics) return; // the lease was lost meanwhile: the models went with it
      const out = this.analytics.observe(slice, now);
      alerts.push(...out.alerts);
      for (const f of out.forecasts) newest.set(f.key, f);
    }
    const forecasts = [...newest.values()];
    await this.deps.store.analytics.saveAlerts(alerts, now);
    for (const a of alerts) this.deps.onAlert(a);
    // A city's forecasts are written and emitted a share at a time: all at once (10,000 stations, 30,000 rows),
    // building the statement's arrays and the events' text held the event loop for about 0.4 s.
    for (let i = 0; i < forecasts.length; i += FORECASTS_PER_WRITE) {
      if (i > 0) await this.deps.turn();
      const share = forecasts.slice(i, i + FORECASTS_PER_WRITE);
      await this.deps.store.analytics.saveForecasts(share, now);
      for (const f of share) this.deps.onForecast(f);
    }
    const producer = this.deps.producer();
    if (producer && alerts.length > 0) {
      // PostgreSQL holds the alerts; the topic is a copy for other consumers, so a failure here is logged.
      await producer
        .send(this.deps.alerts_topic, alerts.map((a) => ({ key: this.deps.stationOf(a.key), value: encode(a), headers: { type: 'alert' } })))
        .catch((err: unknown) => this.deps.logger.warn({ err }, 'could not publish alerts to the log'));
    }
  }
}
