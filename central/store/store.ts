/**
 * Central's storage: every SQL statement WacoFlow runs lives here, batched (UNNEST), never one insert per row.
 * Works unchanged on PostgreSQL and PGlite through `SqlDriver`.
 */
import { alignDown, EMPTY_MEASURES, WINDOW_MS, type Bin, type DeadLetter, type Heartbeat, type Measures, type Station, type Status, type WindowLevel } from '../../protocol/index.ts';
import { AnalyticsStore } from './analytics-store.ts';
import { migrate } from './migrations.ts';
import { admitSeqs, type SeqRun } from './seq-runs.ts';
import { WINDOW_COLUMNS, windowRefKey, type DetectorRef, type DetectorRow, type DeviceRow, type RecentBin, type WindowRef, type WindowRow } from './rows.ts';
import { CombinedWrites, type SqlDriver, type SqlExecutor, type SqlWriter } from './sql.ts';

/** central_progress: the end of the last slot given its no_data windows. */
const NO_DATA_THROUGH = 'no_data_through';

/**
 * The one order in which every writer locks window rows: detectors and stations by key, corridors last (ingest
 * folds corridors after their stations, in a second claim). Transactions that all lock in one order never
 * wait on each other in a circle; one that locked in table order deadlocked with ingest (docs/reliability.md).
 */
const WINDOW_LOCK_ORDER = "level = 'corridor', level, key, window_start_ms";

/**
 * How many seqs the runs of `runs` (a relation of device_id, first_seq, last_seq) cover together: runs may
 * overlap (seq-runs.ts), so each counts only what it adds to the runs of its device that start before it.
 */
export const seqsCovered = (runs: string): string => `SELECT COALESCE(sum(GREATEST(0, last_seq - GREATEST(first_seq - 1, COALESCE(before, first_seq - 1)))), 0)::bigint AS n
  FROM (SELECT first_seq, last_seq, max(last_seq) OVER (PARTITION BY device_id ORDER BY first_seq, last_seq ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS before
        FROM ${runs}) AS r`;

/** The one order in which every writer locks dedupe runs (they are deleted only as whole rows). */
const RUN_LOCK_ORDER = 's.device_id, s.first_seq, s.last_seq';

/** Window rows sent as one JSON document (the parameter `param`), read back as a record set. */
const windowRecordset = (param: string): string => `jsonb_to_recordset(${param}::jsonb) AS x(level text, key text, window_start_ms bigint,
  window_end_ms bigint, revision int, state text, clock_untrusted bool, measures jsonb, updated_ms bigint)`;

/**
 * Overwrites stored window rows ($1, a JSON array) that the transaction holds locked; $2 and $3 bound their
 * window starts (`span`).
 */
const UPDATE_WINDOWS = `UPDATE windows AS w SET revision = x.revision, state = x.state, clock_untrusted = x.clock_untrusted,
  measures = x.measures, updated_ms = x.updated_ms
  FROM ${windowRecordset('$1')}
  WHERE (w.level, w.key, w.window_start_ms) = (x.level, x.key, x.window_start_ms) AND w.window_start_ms BETWEEN $2 AND $3`;

/**
 * The first and last window start of some windows. The windows table is partitioned by day, and a statement
 * that finds its rows through a list (IN, a join) is planned once for every partition: bounding the starts
 * lets PostgreSQL skip the other days' partitions when it runs. Without it, locking a live batch's few
 * windows cost 0.8 ms a statement, the most PostgreSQL spent on anything in the load test.
 */
function span(items: { window_start_ms: number }[]): [number, number] {
  if (items.length === 0) return [0, -1]; // a range nothing is in
  let [lo, hi] = [Infinity, -Infinity];
  for (const w of items) {
    if (w.window_start_ms < lo) lo = w.window_start_ms;
    if (w.window_start_ms > hi) hi = w.window_start_ms;
  }
  return [lo, hi];
}

export class Store {
  readonly db: SqlDriver;
  /** Alerts, forecasts and the finalizer's lease. */
  readonly analytics: AnalyticsStore;
  /** Per detector, the device and window of the progress this process last wrote and saw committed. */
  private readonly detectorsWritten = new Map<string, { device_id: string; window_start_ms: number }>();

  constructor(db: SqlDriver) {
    this.db = db;
    this.analytics = new AnalyticsStore(db);
  }

  migrate(): Promise<number[]> {
    return migrate(this.db);
  }

  transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    return this.db.transaction(fn);
  }

  close(): Promise<void> {
    return this.db.close();
  }

  async upsertStations(stations: Station[], now_ms: number): Promise<void> {
    if (stations.length === 0) return;
    const col = <K extends keyof Station>(k: K) => stations.map((s) => s[k]);
    await this.db.query(
      `INSERT INTO stations (station_id, name, kind, corridor_id, lat, lon, lanes, free_flow_kmh, updated_ms)
       SELECT *, $9::bigint FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::float8[], $6::float8[], $7::int[], $8::float8[])
       ORDER BY 1
       ON CONFLICT (station_id) DO UPDATE SET name = EXCLUDED.name, kind = EXCLUDED.kind, corridor_id = EXCLUDED.corridor_id,
         lat = EXCLUDED.lat, lon = EXCLUDED.lon, lanes = EXCLUDED.lanes, free_flow_kmh = EXCLUDED.free_flow_kmh,
         updated_ms = EXCLUDED.updated_ms`,
      [col('station_id'), col('name'), col('kind'), col('corridor_id'), col('lat'), col('lon'), col('lanes'), col('free_flow_kmh'), now_ms],
    );
  }

  async stations(): Promise<Station[]> {
    const { rows } = await this.db.query<Station>(
      'SELECT station_id, name, kind, corridor_id, lat, lon, lanes, free_flow_kmh FROM stations ORDER BY station_id',
    );
    return rows;
  }

  /**
   * The configured detector inventory; a detector already observed keeps its history. Rows are written in key
   * order, as observeDetectors writes them: an instance starting while another ingests must not lock the same
   * rows in another order (PostgreSQL would abort one of them: the fault harness saw a starting central die of it).
   */
  async upsertDetectors(detectors: DetectorRef[], now_ms: number): Promise<void> {
    if (detectors.length === 0) return;
    await this.db.query(
      `INSERT INTO detectors (detector_id, station_id, source, updated_ms)
       SELECT *, 'inventory', $3::bigint FROM UNNEST($1::text[], $2::text[]) ORDER BY 1
       ON CONFLICT (detector_id) DO UPDATE SET station_id = EXCLUDED.station_id, source = 'inventory', updated_ms = EXCLUDED.updated_ms`,
      [detectors.map((d) => d.detector_id), detectors.map((d) => d.station_id), now_ms],
    );
  }

  /**
   * Registers detectors first seen in these bins and moves each one's event-time progress forward, once per
   * detector and window rather than with every bin: the row is written when this process has not written it yet,
   * when the detector's device changed, or when its newest bin lies in a later 5-minute window than the one
   * written. So `last_event_ms` is the end of a bin in the detector's newest window, up to a window behind its
   * newest bin; the rolling view takes its progress from the recent bins instead (AnalyticsStore.refreshRolling).
   * Writing it with every bin was a row version and 200–260 bytes of WAL per bin, a fifth to a quarter of
   * PostgreSQL's WAL in the load test (docs/benchmarks.md).
   *
   * What was written is remembered only once the transaction has committed: call the returned function then.
   */
  async observeDetectors(tx: SqlWriter, bins: Bin[], now_ms: number): Promise<() => void> {
    const latest = new Map<string, { station_id: string; device_id: string; end_ms: number; window_start_ms: number }>();
    for (const b of bins) {
      const end_ms = b.bin_start_ms + b.bin_ms;
      const prev = latest.get(b.detector_id);
      if (!prev || end_ms > prev.end_ms) latest.set(b.detector_id, { station_id: b.station_id, device_id: b.device_id, end_ms, window_start_ms: alignDown(b.bin_start_ms, WINDOW_MS) });
    }
    const due = [...latest].filter(([id, d]) => {
      const written = this.detectorsWritten.get(id);
      return !written || written.device_id !== d.device_id || d.window_start_ms > written.window_start_ms;
    });
    if (due.length === 0) return () => {};
    const ids = due.map(([id]) => id);
    const col = <T>(f: (d: (typeof due)[number][1]) => T) => due.map(([, d]) => f(d));
    await tx.query(
      `INSERT INTO detectors (detector_id, station_id, source, first_seen_ms, last_event_ms, updated_ms, device_id)
       SELECT d, s, 'observed', $4::bigint, e, $4::bigint, v FROM UNNEST($1::text[], $2::text[], $3::bigint[], $5::text[]) AS u(d, s, e, v)
       ORDER BY d
       ON CONFLICT (detector_id) DO UPDATE SET
         first_seen_ms = COALESCE(detectors.first_seen_ms, EXCLUDED.first_seen_ms),
         device_id = CASE WHEN EXCLUDED.last_event_ms >= COALESCE(detectors.last_event_ms, 0) THEN EXCLUDED.device_id ELSE detectors.device_id END,
         last_event_ms = GREATEST(COALESCE(detectors.last_event_ms, 0), EXCLUDED.last_event_ms),
         updated_ms = EXCLUDED.updated_ms`,
      [ids, col((d) => d.station_id), col((d) => d.end_ms), now_ms, col((d) => d.device_id)],
    );
    return () => {
      for (const [id, d] of due) {
        const written = this.detectorsWritten.get(id);
        if (!written || d.window_start_ms >= written.window_start_ms) this.detectorsWritten.set(id, { device_id: d.device_id, window_start_ms: d.window_start_ms });
      }
    };
  }

  /**
   * Bins past the late horizon: kept, counted, never folded into a window. A bin already recorded (redelivered
   * after the dedupe table forgot it) is skipped; returns how many were new.
   */
  async addLateEvents(tx: SqlExecutor, late: { bin: Bin; window_start_ms: number; lateness_ms: number }[], now_ms: number): Promise<number> {
    if (late.length === 0) return 0;
    const col = <T>(f: (l: (typeof late)[number]) => T) => late.map(f);
    const { rows } = await tx.query(
      `INSERT INTO late_events (received_ms, device_id, seq, detector_id, station_id, bin_start_ms, bin_ms, window_start_ms, lateness_ms, measures)
       SELECT $1::bigint, * FROM UNNEST($2::text[], $3::bigint[], $4::text[], $5::text[], $6::bigint[], $7::int[], $8::bigint[], $9::bigint[], $10::jsonb[])
       ON CONFLICT (device_id, seq) DO NOTHING
       RETURNING 1`,
      [
        now_ms, col((l) => l.bin.device_id), col((l) => l.bin.seq), col((l) => l.bin.detector_id), col((l) => l.bin.station_id),
        col((l) => l.bin.bin_start_ms), col((l) => l.bin.bin_ms), col((l) => l.window_start_ms), col((l) => l.lateness_ms),
        col((l) => JSON.stringify(l.bin.measures)),
      ],
    );
    return rows.length;
  }

  /**
   * Stores windows of the past as final station windows (the simulator's history, simulators/history.ts); a
   * window already stored is left as it is. Returns how many were new.
   */
  async importFinalStationWindows(windows: readonly { key: string; window_start_ms: number; measures: Measures }[], now_ms: number): Promise<number> {
    if (windows.length === 0) return 0;
    const { rows } = await this.db.query<{ n: number }>(
      `WITH added AS (
         INSERT INTO windows (${WINDOW_COLUMNS})
         SELECT 'station', key, start_ms, start_ms + $3::bigint, 0, 'final', false, measures, $4::bigint
         FROM UNNEST($1::text[], $2::bigint[], $5::jsonb[]) AS w(key, start_ms, measures)
         ON CONFLICT (level, key, window_start_ms) DO NOTHING
         RETURNING 1)
       SELECT count(*)::int AS n FROM added`,
      [windows.map((w) => w.key), windows.map((w) => w.window_start_ms), WINDOW_MS, now_ms, windows.map((w) => JSON.stringify(w.measures))],
    );
    return rows[0]!.n;
  }

  /** How many final windows of these stations start in [from_ms, to_ms). */
  async countFinalStationWindows(station_ids: readonly string[], from_ms: number, to_ms: number): Promise<number> {
    const { rows } = await this.db.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM windows WHERE level = 'station' AND key = ANY($1::text[]) AND state <> 'provisional' AND window_start_ms >= $2 AND window_start_ms < $3",
      [station_ids, from_ms, to_ms],
    );
    return rows[0]!.n;
  }

  /**
   * Forgets the dedupe runs whose newest bin started before `before_ms`: central keeps them for the late horizon,
   * beyond which a redelivered bin is a late event and late_events dedupes it. A run still growing stays whole.
   * Returns how many bins' records went.
   */
  async pruneDedupe(before_ms: number): Promise<number> {
    const { rows } = await this.db.query<{ n: number }>(
      `WITH doomed AS (SELECT ctid AS row FROM ingested_seqs s WHERE last_bin_start_ms < $1 ORDER BY ${RUN_LOCK_ORDER} FOR UPDATE),
       gone AS (DELETE FROM ingested_seqs WHERE ctid IN (SELECT row FROM doomed) RETURNING device_id, first_seq, last_seq)
       ${seqsCovered('gone')}`,
      [before_ms],
    );
    return rows[0]!.n;
  }

  /** How many bins the dedupe record holds as counted: every (device_id, seq) its runs cover. */
  async countedBins(): Promise<number> {
    const { rows } = await this.db.query<{ n: number }>(seqsCovered('ingested_seqs'));
    return rows[0]!.n;
  }

  async lateEventCount(): Promise<number> {
    const { rows } = await this.db.query<{ n: number }>('SELECT count(*)::int AS n FROM late_events');
    return rows[0]?.n ?? 0;
  }

  async progress(name: string, tx: SqlExecutor = this.db): Promise<number | null> {
    const { rows } = await tx.query<{ value_ms: number }>('SELECT value_ms FROM central_progress WHERE name = $1', [name]);
    return rows[0]?.value_ms ?? null;
  }

  /** Moves a named position forward (never back). */
  async advanceProgress(tx: SqlExecutor, name: string, value_ms: number, now_ms: number): Promise<void> {
    await tx.query(
      `INSERT INTO central_progress (name, value_ms, updated_ms) VALUES ($1, $2, $3)
       ON CONFLICT (name) DO UPDATE SET value_ms = GREATEST(central_progress.value_ms, EXCLUDED.value_ms), updated_ms = EXCLUDED.updated_ms`,
      [name, value_ms, now_ms],
    );
  }

  /**
   * Final `no_data` windows for every known detector, station and corridor that has no window at these starts:
   * an offline detector shows as a window that saw nothing, not as a hole. Returns the rows it created.
   * Inserted in WINDOW_LOCK_ORDER.
   */
  async fillNoData(tx: SqlExecutor, window_starts: number[], now_ms: number): Promise<WindowRow[]> {
    if (window_starts.length === 0) return [];
    const { rows } = await tx.query<WindowRow>(
      `WITH keys (level, key) AS (
         SELECT 'detector', detector_id FROM detectors
         UNION SELECT 'station', station_id FROM detectors
         UNION SELECT 'station', station_id FROM stations
         UNION SELECT 'corridor', corridor_id FROM stations WHERE corridor_id IS NOT NULL)
       INSERT INTO windows (${WINDOW_COLUMNS})
       SELECT level, key, window_start_ms, window_start_ms + $2::bigint, 0, 'final', false, $3::jsonb, $4::bigint
       FROM keys CROSS JOIN UNNEST($1::bigint[]) AS w(window_start_ms)
       ORDER BY ${WINDOW_LOCK_ORDER}
       ON CONFLICT (level, key, window_start_ms) DO NOTHING
       RETURNING ${WINDOW_COLUMNS}`,
      [window_starts, WINDOW_MS, JSON.stringify(EMPTY_MEASURES), now_ms],
    );
    return rows;
  }

  /**
   * Records these bins as counted and returns the ones no earlier transaction counted: redelivered `(device_id,
   * seq)` pairs, and repeats within the batch, drop out here. The record is each device's runs of consecutive
   * seqs (seq-runs.ts), a row per run rather than per bin.
   *
   * Runs have no unique key to wait on, so two transactions that could bring the same bin take turns under a
   * transaction-scoped advisory lock, and the read is a statement of its own so that its snapshot includes
   * whatever the previous holder committed. A bin travels keyed by its station, so only the consumers of one
   * station's partition can bring the same bin (two of them, for a moment, during a rebalance): the lock is
   * per device and station. A lock per device made every partition's transaction wait for the others holding
   * a bin of the same agent, which reads about ten stations spread over the partitions: in a backlog they ran
   * one at a time, waiting 18 µs per bin (bench:central, profile stage). Transactions of one device's other
   * stations now rewrite its runs side by side; a run they both replace may then be stored twice, which the
   * runs' reading allows for (seq-runs.ts), and a run is deleted only as exactly the run that was read, and
   * only if no other transaction holds it.
   *
   * The rewrite reads nothing back, so it goes to `writer`: with a CombinedWrites it rides on a later statement
   * of the transaction (the ingest's window write) instead of costing a round trip of its own.
   */
  async claimBins(tx: SqlExecutor, bins: Bin[], writer: SqlWriter = tx): Promise<Bin[]> {
    if (bins.length === 0) return [];
    // Each device's bins and the span of their seqs.
    const byDevice = new Map<string, { bins: Bin[]; lo: number; hi: number }>();
    for (const b of bins) {
      const d = byDevice.get(b.device_id);
      if (!d) byDevice.set(b.device_id, { bins: [b], lo: b.seq, hi: b.seq });
      else {
        d.bins.push(b);
        d.lo = Math.min(d.lo, b.seq);
        d.hi = Math.max(d.hi, b.seq);
      }
    }
    const devices = [...byDevice.keys()];
    // Locks are taken in the order of their keys (the hashes), not of the names: two pairs whose names hash
    // alike share one lock, and taken in name order it could be wanted in two orders at once. Ids cannot
    // contain '/', so the text names one pair.
    await tx.query(
      'SELECT count(pg_advisory_xact_lock(7472363, h)) FROM (SELECT DISTINCT hashtext(k) AS h FROM UNNEST($1::text[]) AS u(k) ORDER BY h) AS ordered',
      [[...new Set(bins.map((b) => `${b.device_id}/${b.station_id}`))]],
    );
    const { rows } = await tx.query<SeqRun & { device_id: string }>(
      `SELECT s.device_id, s.first_seq, s.last_seq, s.last_bin_start_ms
       FROM UNNEST($1::text[], $2::bigint[], $3::bigint[]) AS u(d, lo, hi)
       JOIN ingested_seqs s ON s.device_id = u.d AND s.last_seq >= u.lo - 1 AND s.first_seq <= u.hi + 1`,
      [devices, devices.map((d) => byDevice.get(d)!.lo), devices.map((d) => byDevice.get(d)!.hi)],
    );
    const stored = new Map<string, SeqRun[]>();
    for (const r of rows) {
      const list = stored.get(r.device_id);
      if (list) list.push(r);
      else stored.set(r.device_id, [r]);
    }
    const fresh = new Set<Bin>();
    const gone: { device_id: string; run: SeqRun }[] = [];
    const added: { device_id: string; run: SeqRun }[] = [];
    for (const device_id of devices) {
      const change = admitSeqs(stored.get(device_id) ?? [], byDevice.get(device_id)!.bins);
      for (const b of change.fresh) fresh.add(b);
      for (const run of change.gone) gone.push({ device_id, run });
      for (const run of change.added) added.push({ device_id, run });
    }
    if (added.length > 0) {
      // Two writes, neither with a WITH of its own, so that a CombinedWrites can send them with others. They touch
      // different rows (the runs read, the runs made), and the table has no unique key for them to meet on.
      if (gone.length > 0) {
        await writer.query(
          // The runs replaced are locked in one order, as every writer of runs locks them: two transactions of one
          // device's stations replacing the same two runs in table order deadlocked (the fault harness saw it).
          // A run another transaction holds is left to it (SKIP LOCKED): the new run covers it anyway, and the two
          // overlap until the next change merges them. Waiting made the partitions' transactions take turns on
          // every device whose stations they share: 22 ms a claim on average, up to 0.9 s, in the load test.
          `DELETE FROM ingested_seqs WHERE ctid IN (
             SELECT s.ctid FROM ingested_seqs s JOIN UNNEST($1::text[], $2::bigint[], $3::bigint[]) AS g(d, first_seq, last_seq)
               ON s.device_id = g.d AND s.last_seq = g.last_seq AND s.first_seq = g.first_seq
             ORDER BY ${RUN_LOCK_ORDER} FOR UPDATE OF s SKIP LOCKED)`,
          [gone.map((g) => g.device_id), gone.map((g) => g.run.first_seq), gone.map((g) => g.run.last_seq)],
        );
      }
      await writer.query(
        'INSERT INTO ingested_seqs (device_id, first_seq, last_seq, last_bin_start_ms) SELECT * FROM UNNEST($1::text[], $2::bigint[], $3::bigint[], $4::bigint[])',
        [added.map((a) => a.device_id), added.map((a) => a.run.first_seq), added.map((a) => a.run.last_seq), added.map((a) => a.run.last_bin_start_ms)],
      );
    }
    return bins.filter((b) => fresh.has(b));
  }

  /**
   * Keeps newly counted bins for the rolling view (AnalyticsStore.refreshRolling): one row per station and
   * batch, its bins as one JSON array (RecentBin: measures flattened), which PostgreSQL only checks and stores. The view covers the `span_ms`
   * before a station's progress, and this batch moves progress to at least its latest bin end, so a bin that
   * started more than `span_ms` before that end can never be read: catching up on a backlog keeps a few.
   */
  async keepRecentBins(tx: SqlWriter, bins: Bin[], span_ms: number): Promise<void> {
    const reached = new Map<string, number>();
    for (const b of bins) reached.set(b.station_id, Math.max(reached.get(b.station_id) ?? 0, b.bin_start_ms + b.bin_ms));
    const byStation = new Map<string, { station_id: string; first_start_ms: number; last_end_ms: number; bins: RecentBin[] }>();
    for (const b of bins) {
      if (b.bin_start_ms < reached.get(b.station_id)! - span_ms) continue;
      const end = b.bin_start_ms + b.bin_ms;
      const recent: RecentBin = { detector_id: b.detector_id, bin_start_ms: b.bin_start_ms, bin_ms: b.bin_ms, ...b.measures };
      const row = byStation.get(b.station_id);
      if (!row) byStation.set(b.station_id, { station_id: b.station_id, first_start_ms: b.bin_start_ms, last_end_ms: end, bins: [recent] });
      else {
        row.first_start_ms = Math.min(row.first_start_ms, b.bin_start_ms);
        row.last_end_ms = Math.max(row.last_end_ms, end);
        row.bins.push(recent);
      }
    }
    if (byStation.size === 0) return;
    await tx.query(
      `INSERT INTO recent_bins (station_id, first_start_ms, last_end_ms, bins)
       SELECT * FROM json_to_recordset($1::json) AS x(station_id text, first_start_ms bigint, last_end_ms bigint, bins json)`,
      [JSON.stringify([...byStation.values()])],
    );
  }

  /**
   * Writes what `fold` makes of the windows with these keys, in one read and one write: the stored ones are
   * locked (FOR UPDATE, in WINDOW_LOCK_ORDER) and given to `fold` as they are; `fold` returns every row to
   * write (a key it finds no row for starts from nothing). Rows that were stored are updated; the rest are
   * inserted, and PostgreSQL makes an insert wait for any other transaction inserting the same key.
   *
   * A key another transaction inserted after the read (two batches bringing the first bins of one window, or
   * the finalizer's no_data row) conflicts: that row is then locked and read as committed, `fold` runs again on
   * it, and its result is written over it. So a row is only ever written from a version of it this
   * transaction holds locked; without that, the later of two first writers once replaced the earlier's row
   * (bins in the dedupe record but missing from their window: the fault harness caught it).
   *
   * An earlier design inserted an empty row for every new key before folding, to have something to lock: each
   * new window was then written twice, and a backlog is almost all new windows (bench:central, profile stage).
   *
   * The write goes with whatever `side` holds (CombinedWrites), in one statement. Returns the rows as written, in
   * key order.
   */
  async updateWindows(tx: SqlExecutor, refs: WindowRef[], fold: (stored: ReadonlyMap<string, WindowRow>) => WindowRow[], side: CombinedWrites = new CombinedWrites(tx)): Promise<WindowRow[]> {
    if (refs.length === 0) return [];
    const stored = await this.lockWindows(tx, refs);
    const rows = inKeyOrder(fold(stored));
    const updates: WindowRow[] = [];
    const inserts: WindowRow[] = [];
    for (const r of rows) (stored.has(windowRefKey(r)) ? updates : inserts).push(r);
    const { rows: inserted } = await side.queryWith<WindowRef>(
      // A data-modifying WITH runs once and to the end whether or not the query reads it.
      `WITH updated AS (${UPDATE_WINDOWS})
       INSERT INTO windows (${WINDOW_COLUMNS}) SELECT ${WINDOW_COLUMNS} FROM ${windowRecordset('$4')}
       ORDER BY ${WINDOW_LOCK_ORDER}
       ON CONFLICT (level, key, window_start_ms) DO NOTHING
       RETURNING level, key, window_start_ms`,
      [JSON.stringify(updates), ...span(updates), JSON.stringify(inserts)],
    );
    if (inserted.length === inserts.length) return rows;
    // Inserted by another transaction meanwhile: fold again on its committed row, and write over it.
    const done = new Set(inserted.map(windowRefKey));
    const raced = inserts.filter((r) => !done.has(windowRefKey(r)));
    const now = await this.lockWindows(tx, raced);
    const again = new Map(fold(now).filter((r) => now.has(windowRefKey(r))).map((r) => [windowRefKey(r), r]));
    // (A raced row can be gone by now only if its day's partition was dropped: nothing left to write.)
    if (again.size > 0) await tx.query(UPDATE_WINDOWS, [JSON.stringify([...again.values()]), ...span([...again.values()])]);
    return rows.map((r) => again.get(windowRefKey(r)) ?? r);
  }

  /** The stored windows with these keys, locked until the transaction ends, taken in WINDOW_LOCK_ORDER. */
  private async lockWindows(tx: SqlExecutor, refs: WindowRef[]): Promise<Map<string, WindowRow>> {
    const { rows } = await tx.query<WindowRow>(
      `SELECT ${WINDOW_COLUMNS} FROM windows
       WHERE (level, key, window_start_ms) IN (SELECT * FROM UNNEST($1::text[], $2::text[], $3::bigint[])) AND window_start_ms BETWEEN $4 AND $5
       ORDER BY ${WINDOW_LOCK_ORDER} FOR UPDATE`,
      [...keyColumns(refs), ...span(refs)],
    );
    return new Map(rows.map((r) => [windowRefKey(r), r]));
  }

  /** Transaction-scoped advisory locks on corridor windows, taken in the given order, in one round trip. */
  async lockCorridors(tx: SqlExecutor, refs: WindowRef[]): Promise<void> {
    if (refs.length === 0) return;
    // Ids cannot contain '/', so this text names one window; windowRefKey's NUL separators are not valid SQL text.
    await tx.query(
      'SELECT count(pg_advisory_xact_lock(7472362, hashtext(k))) FROM (SELECT k FROM UNNEST($1::text[]) WITH ORDINALITY AS u(k, i) ORDER BY i) AS ordered',
      [refs.map((r) => `${r.level}/${r.key}/${r.window_start_ms}`)],
    );
  }

  /**
   * One finalisation pass, in one transaction: provisional windows whose end + grace has passed become final,
   * and every known key without a window in a slot that is now due gets a final no_data window. The slots are
   * filled from where the last pass stopped (at most `max_slots` per pass, oldest first); on the very first pass
   * the position starts at now, so history before central existed is not filled in. Returns the rows changed.
   *
   * With a `lease`, the pass is fenced: it runs only while that holder has the unexpired lease, and holds the
   * lease row (FOR SHARE) until it commits, so a take-over waits for it instead of overlapping it.
   */
  async finalizeDue(now_ms: number, grace_ms: number, max_slots = 288, lease?: { name: string; holder: string }): Promise<WindowRow[]> {
    return this.db.transaction(async (tx) => {
      if (lease) {
        const { rows } = await tx.query(
          'SELECT 1 FROM central_leases WHERE name = $1 AND holder = $2 AND expires_ms > $3 FOR SHARE',
          [lease.name, lease.holder, now_ms],
        );
        if (rows.length === 0) return [];
      }
      // The due rows are locked first, in WINDOW_LOCK_ORDER: a plain UPDATE would lock them in table order.
      // The bound is on window_end_ms itself, so the open-windows index finds only the due ones: written as
      // `window_end_ms + grace <= now` it read every open window of every day, 70 ms a pass with 120,000 open.
      const { rows: due } = await tx.query<WindowRef>(
        `SELECT level, key, window_start_ms FROM windows
         WHERE state = 'provisional' AND window_end_ms <= $1::bigint - $2::bigint
         ORDER BY ${WINDOW_LOCK_ORDER} FOR UPDATE`,
        [now_ms, grace_ms],
      );
      // Then the update, by key and only when something is due. As one statement joined to the locked rows
      // (WITH due … UPDATE … FROM due), PostgreSQL planned a merge join that sorted every open window of every
      // day on each pass, due or not: 0.3–0.9 s a pass with 360,000 open, in the load test.
      const { rows: finals } = due.length === 0 ? { rows: [] } : await tx.query<WindowRow>(
        `UPDATE windows SET state = 'final', updated_ms = $1
         WHERE (level, key, window_start_ms) IN (SELECT * FROM UNNEST($2::text[], $3::text[], $4::bigint[]))
           AND window_start_ms BETWEEN $5 AND $6 AND state = 'provisional'
         RETURNING ${WINDOW_COLUMNS}`,
        [now_ms, ...keyColumns(due), ...span(due)],
      );
      // Slot s is due when s + WINDOW_MS + grace <= now; `through` is the end of the newest due slot.
      const through = alignDown(now_ms - grace_ms - WINDOW_MS, WINDOW_MS) + WINDOW_MS;
      const from = (await this.progress(NO_DATA_THROUGH, tx)) ?? through;
      const slots: number[] = [];
      for (let s = from; s < through && slots.length < max_slots; s += WINDOW_MS) slots.push(s);
      const empty = await this.fillNoData(tx, slots, now_ms);
      await this.advanceProgress(tx, NO_DATA_THROUGH, slots.length > 0 ? slots.at(-1)! + WINDOW_MS : through, now_ms);
      return [...finals, ...empty];
    });
  }

  /** The newest window of every key at a level (the "current" view). */
  async latestWindows(level: WindowLevel): Promise<WindowRow[]> {
    const { rows } = await this.db.query<WindowRow>(
      `SELECT DISTINCT ON (key) ${WINDOW_COLUMNS} FROM windows WHERE level = $1 ORDER BY key, window_start_ms DESC`,
      [level],
    );
    return rows;
  }

  /** The newest final (or revised) window of every key at a level. */
  async latestFinalWindows(level: WindowLevel): Promise<WindowRow[]> {
    const { rows } = await this.db.query<WindowRow>(
      `SELECT DISTINCT ON (key) ${WINDOW_COLUMNS} FROM windows WHERE level = $1 AND state <> 'provisional'
       ORDER BY key, window_start_ms DESC`,
      [level],
    );
    return rows;
  }

  /** Windows of one key starting in [from_ms, to_ms), oldest first, at most `limit`. */
  async windowsOf(level: WindowLevel, key: string, from_ms: number, to_ms: number, limit: number | null = null): Promise<WindowRow[]> {
    const { rows } = await this.db.query<WindowRow>(
      `SELECT ${WINDOW_COLUMNS} FROM windows WHERE level = $1 AND key = $2 AND window_start_ms >= $3 AND window_start_ms < $4
       ORDER BY window_start_ms LIMIT $5`,
      [level, key, from_ms, to_ms, limit],
    );
    return rows;
  }

  /** Every known detector: from the inventory or first seen in bins. */
  async detectors(): Promise<DetectorRow[]> {
    const { rows } = await this.db.query<DetectorRow>(
      'SELECT detector_id, station_id, source, first_seen_ms, last_event_ms, device_id FROM detectors ORDER BY detector_id',
    );
    return rows;
  }

  async loadOffset(group_id: string, topic: string, partition: number): Promise<number | null> {
    const { rows } = await this.db.query<{ next_offset: number }>(
      'SELECT next_offset FROM consumer_offsets WHERE group_id = $1 AND topic = $2 AND partition = $3',
      [group_id, topic, partition],
    );
    return rows[0]?.next_offset ?? null;
  }

  /**
   * Stores where a partition resumes. It never moves backwards (a consumer that lost its partition but finishes
   * a batch late must not rewind the new owner), unless `reset` says the log itself was replaced.
   */
  async saveOffset(tx: SqlExecutor, group_id: string, topic: string, partition: number, next_offset: number, now_ms: number, reset = false): Promise<void> {
    await this.saveOffsets(tx, group_id, [{ topic, partition, next_offset, reset }], now_ms);
  }

  /** `saveOffset` for several partitions (a group of batches), in one statement (each reset in one of its own). */
  async saveOffsets(tx: SqlWriter, group_id: string, offsets: { topic: string; partition: number; next_offset: number; reset: boolean }[], now_ms: number): Promise<void> {
    const upsert = `INSERT INTO consumer_offsets (group_id, topic, partition, next_offset, updated_ms)
       SELECT $1, u.topic, u.partition, u.next_offset, $2 FROM UNNEST($3::text[], $4::integer[], $5::bigint[]) AS u(topic, partition, next_offset)
       ON CONFLICT (group_id, topic, partition) DO UPDATE SET next_offset = EXCLUDED.next_offset, updated_ms = EXCLUDED.updated_ms
       WHERE consumer_offsets.next_offset <= EXCLUDED.next_offset OR $6`;
    const write = (os: typeof offsets, reset: boolean) =>
      tx.query(upsert, [group_id, now_ms, os.map((o) => o.topic), os.map((o) => o.partition), os.map((o) => o.next_offset), reset]);
    const moving = offsets.filter((o) => !o.reset);
    if (moving.length > 0) await write(moving, false);
    for (const o of offsets.filter((o) => o.reset)) await write([o], true);
  }

  /**
   * Keeps each device's newest heartbeat by its own time. Compared with the previous heartbeat, not with
   * last_seen_ms: a status is stamped with the gateway's receive time, so the heartbeat an agent sends as it
   * connects is often a few milliseconds older than the `online` that went before it, and was once dropped.
   */
  async recordHeartbeats(tx: SqlExecutor, beats: Heartbeat[]): Promise<void> {
    for (const hb of latestBy(beats, (h) => h.device_id, (h) => h.ts_ms)) {
      await tx.query(
        `INSERT INTO devices (device_id, status, status_ms, last_seen_ms, last_heartbeat) VALUES ($1, 'online', NULL, $2, $3)
         ON CONFLICT (device_id) DO UPDATE SET last_seen_ms = GREATEST(devices.last_seen_ms, EXCLUDED.last_seen_ms),
           last_heartbeat = CASE WHEN devices.last_heartbeat IS NULL OR (EXCLUDED.last_heartbeat->>'ts_ms')::bigint >= (devices.last_heartbeat->>'ts_ms')::bigint
             THEN EXCLUDED.last_heartbeat ELSE devices.last_heartbeat END`,
        [hb.device_id, hb.ts_ms, JSON.stringify(hb)],
      );
    }
  }

  async recordStatuses(tx: SqlExecutor, statuses: Status[]): Promise<void> {
    for (const st of latestBy(statuses, (s) => s.device_id, (s) => s.ts_ms)) {
      await tx.query(
        `INSERT INTO devices (device_id, status, status_ms, last_seen_ms) VALUES ($1, $2, $3, $3)
         ON CONFLICT (device_id) DO UPDATE SET status = EXCLUDED.status, status_ms = EXCLUDED.status_ms
         WHERE devices.status_ms IS NULL OR devices.status_ms <= EXCLUDED.status_ms`,
        [st.device_id, st.state, st.ts_ms],
      );
    }
  }

  async devices(): Promise<DeviceRow[]> {
    const { rows } = await this.db.query<DeviceRow>(
      'SELECT device_id, status, status_ms, last_seen_ms, last_heartbeat FROM devices ORDER BY device_id',
    );
    return rows;
  }

  /**
   * Final and revised windows written by an instance that does not run the analytics: left for the one that does
   * (AnalyticsStore.takeWindowsToAnalyse), in the transaction that wrote them.
   */
  async leaveForAnalysis(w: SqlWriter, refs: WindowRef[]): Promise<void> {
    if (refs.length === 0) return;
    await w.query(
      `INSERT INTO windows_to_analyse (level, key, window_start_ms)
       SELECT * FROM UNNEST($1::text[], $2::text[], $3::bigint[]) ON CONFLICT DO NOTHING`,
      keyColumns(refs),
    );
  }

  async addDeadLetters(tx: SqlExecutor, letters: DeadLetter[]): Promise<void> {
    if (letters.length === 0) return;
    await tx.query(
      `INSERT INTO dead_letters (received_ms, stage, reason, field, source, payload_base64)
       SELECT * FROM UNNEST($1::bigint[], $2::text[], $3::text[], $4::text[], $5::jsonb[], $6::text[])`,
      [
        letters.map((d) => d.received_ms),
        letters.map((d) => d.stage),
        letters.map((d) => d.reason),
        letters.map((d) => d.field),
        letters.map((d) => JSON.stringify(d.source)),
        letters.map((d) => d.payload_base64),
      ],
    );
  }

  async deadLetterCount(): Promise<number> {
    const { rows } = await this.db.query<{ n: number }>('SELECT count(*)::int AS n FROM dead_letters');
    return rows[0]?.n ?? 0;
  }
}

/** Window keys as three parallel arrays, for UNNEST. */
function keyColumns(refs: WindowRef[]): [string[], string[], number[]] {
  return [refs.map((r) => r.level), refs.map((r) => r.key), refs.map((r) => r.window_start_ms)];
}

/** Refs or rows sorted by their window key, each key built once (a comparator building it would do so n log n times). */
export function inKeyOrder<T extends WindowRef>(items: T[]): T[] {
  return items
    .map((item) => ({ item, k: windowRefKey(item) }))
    .sort((a, b) => (a.k < b.k ? -1 : a.k > b.k ? 1 : 0))
    .map((x) => x.item);
}

function latestBy<T>(items: T[], key: (t: T) => string, ts: (t: T) => number): T[] {
  const best = new Map<string, T>();
  for (const item of items) {
    const prev = best.get(key(item));
    if (!prev || ts(item) >= ts(prev)) best.set(key(item), item);
  }
  return [...best.values()];
}
