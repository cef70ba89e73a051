/**
 * Corridor windows, rolled up from their stations' windows outside the ingest transaction. A corridor's
 * stations sit on different partitions, so rolling one up inside ingest made every partition's transaction
 * wait on the others' corridor locks; here each instance marks the corridor windows its batches touched and
 * rolls them up in a transaction of its own as soon as the previous roll-up is done, so batches that arrive
 * meanwhile share one. Roll-ups pending in an instance that dies are redone by whoever gets its partitions and,
 * at the latest, by the finaliser before those windows become final.
 */
import type { Logger } from 'pino';
import { sameMeasures, type Station } from '../protocol/index.ts';
import type { Clock } from '../platform/clock.ts';
import { inKeyOrder, windowRefKey, type Store, type WindowRef, type WindowRow } from './store/store.ts';
import { corridorRow } from './windows/fold.ts';

export interface CorridorDeps {
  store: Store;
  clock: Clock;
  logger: Logger;
  stations: ReadonlyMap<string, Station>;
  /** Called with the corridor rows a roll-up wrote, after it committed. */
  onWindows(rows: WindowRow[]): void;
}

/** After a failed roll-up, the pending windows wait this long before the next try. */
const RETRY_MS = 1_000;

export class CorridorRollUp {
  private readonly deps: CorridorDeps;
  private readonly members = new Map<string, string[]>();
  private readonly pending = new Map<string, WindowRef>();
  private running: Promise<void> | null = null;
  private stopped = false;

  constructor(deps: CorridorDeps) {
    this.deps = deps;
    for (const s of deps.stations.values()) {
      if (s.corridor_id) this.members.set(s.corridor_id, [...(this.members.get(s.corridor_id) ?? []), s.station_id]);
    }
  }

  /** Station windows were written: their corridors' windows are rolled up again, soon. */
  touched(rows: readonly WindowRow[]): void {
    for (const r of rows) {
      const corridor = r.level === 'station' ? this.deps.stations.get(r.key)?.corridor_id : null;
      if (!corridor) continue;
      const ref: WindowRef = { level: 'corridor', key: corridor, window_start_ms: r.window_start_ms };
      this.pending.set(windowRefKey(ref), ref);
    }
    if (this.pending.size > 0 && !this.running && !this.stopped) this.running = this.drain();
  }

  /** Resolves once nothing is pending or being rolled up. */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  /**
   * Takes no more, and waits for what is pending to be rolled up, unless a roll-up fails (the database is
   * gone): then what is left is given up, and the finaliser rolls those windows up before they become final.
   */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.idle();
  }

  /**
   * Every corridor window with a provisional station window that ended at or before `end_ms` (by default any),
   * rolled up now, whatever is pending where. The finaliser calls it for what it is about to make final, so a
   * final corridor window is exact even if the instance that touched it died with the roll-up pending; an
   * instance given partitions calls it for all, so such a window is not left stale until then either.
   */
  async rollUpProvisional(end_ms = Number.MAX_SAFE_INTEGER): Promise<WindowRow[]> {
    if (this.members.size === 0) return [];
    const { rows } = await this.deps.store.db.query<{ key: string; window_start_ms: number }>(
      `SELECT DISTINCT s.corridor_id AS key, w.window_start_ms FROM windows w JOIN stations s ON s.station_id = w.key
       WHERE w.level = 'station' AND w.state = 'provisional' AND w.window_end_ms <= $1 AND s.corridor_id IS NOT NULL`,
      [end_ms],
    );
    const refs = rows.filter((r) => this.members.has(r.key)).map((r): WindowRef => ({ level: 'corridor', ...r }));
    return this.rollUp(refs);
  }

  private async drain(): Promise<void> {
    try {
      while (this.pending.size > 0) {
        const refs = [...this.pending.values()];
        this.pending.clear();
        try {
          await this.rollUp(refs);
        } catch (err) {
          for (const ref of refs) if (!this.pending.has(windowRefKey(ref))) this.pending.set(windowRefKey(ref), ref);
          this.deps.logger.warn({ err, windows: refs.length }, 'rolling up corridor windows failed; retrying');
          if (this.stopped) return;
          await new Promise((r) => setTimeout(r, RETRY_MS));
        }
      }
    } finally {
      this.running = null;
    }
  }

  /**
   * Recomputes these corridor windows from their stations' rows, in one transaction. Several instances may roll
   * up one corridor window at once: a transaction-scoped advisory lock per window makes them take turns (in key
   * order: no deadlock), and READ COMMITTED lets the later one see the stations the earlier one saw and more.
   * A window whose recomputed measures equal the stored ones is left alone (a final one is not revised for nothing).
   */
  private async rollUp(refs: WindowRef[]): Promise<WindowRow[]> {
    if (refs.length === 0) return [];
    const { store, clock } = this.deps;
    const now = clock.now();
    const ordered = inKeyOrder(refs);
    const rows = await store.transaction(async (tx) => {
      await store.lockCorridors(tx, ordered);
      const current = await store.claimWindows(tx, ordered, now);
      const stationRows = await store.stationWindowsOf(tx, ordered.map((ref) => ({ station_ids: this.members.get(ref.key) ?? [], window_start_ms: ref.window_start_ms })));
      const changed = ordered.flatMap((ref) => {
        const members = new Set(this.members.get(ref.key) ?? []);
        const stored = current.get(windowRefKey(ref));
        const row = corridorRow(ref.key, ref.window_start_ms, stationRows.filter((r) => r.window_start_ms === ref.window_start_ms && members.has(r.key)), stored, now);
        const unchanged = stored !== undefined && stored.clock_untrusted === row.clock_untrusted && sameMeasures(stored.measures, row.measures);
        return unchanged ? [] : [row];
      });
      return store.writeWindows(tx, changed);
    });
    this.deps.onWindows(rows);
    return rows;
  }
}
