/**
 * Central's storage: every SQL statement WacoFlow runs lives here, batched (UNNEST), never one insert per row.
 * Works unchanged on PostgreSQL and PGlite through `SqlDriver`.
 */
import type { Bin, DeadLetter, Heartbeat, Measures, Station, Status, WindowLevel, WindowState } from '../../protocol/index.ts';
import { migrate } from './migrations.ts';
import type { SqlDriver, SqlExecutor } from './sql.ts';

export interface WindowRow {
  level: WindowLevel;
  key: string;
  window_start_ms: number;
  window_end_ms: number;
  revision: number;
  state: WindowState;
  clock_untrusted: boolean;
  measures: Measures;
  updated_ms: number;
}

export interface WindowRef {
  level: WindowLevel;
  key: string;
  window_start_ms: number;
}

export const windowRefKey = (w: WindowRef): string => `${w.level}\u0000${w.key}\u0000${w.window_start_ms}`;

export interface DeviceRow {
  device_id: string;
  status: 'online' | 'offline' | 'unknown';
  status_ms: number | null;
  last_seen_ms: number;
  last_heartbeat: Heartbeat | null;
}

const WINDOW_COLUMNS = 'level, key, window_start_ms, window_end_ms, revision, state, clock_untrusted, measures, updated_ms';

export class Store {
  readonly db: SqlDriver;

  constructor(db: SqlDriver) {
    this.db = db;
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

  /** Inserts bins not seen before and returns exactly those: redelivered `(device_id, seq)` pairs drop out here. */
  async insertBins(tx: SqlExecutor, bins: Bin[], now_ms: number): Promise<Bin[]> {
    if (bins.length === 0) return [];
    const { rows } = await tx.query<{ device_id: string; seq: number }>(
      `INSERT INTO ingested_bins (device_id, seq, detector_id, station_id, bin_start_ms, bin_ms, clock_synced, measures, received_ms)
       SELECT *, $9::bigint FROM UNNEST($1::text[], $2::bigint[], $3::text[], $4::text[], $5::bigint[], $6::int[], $7::bool[], $8::jsonb[])
       ON CONFLICT (device_id, seq) DO NOTHING
       RETURNING device_id, seq`,
      [
        bins.map((b) => b.device_id),
        bins.map((b) => b.seq),
        bins.map((b) => b.detector_id),
        bins.map((b) => b.station_id),
        bins.map((b) => b.bin_start_ms),
        bins.map((b) => b.bin_ms),
        bins.map((b) => b.clock.synced),
        bins.map((b) => JSON.stringify(b.measures)),
        now_ms,
      ],
    );
    const fresh = new Set(rows.map((r) => `${r.device_id}\u0000${r.seq}`));
    return bins.filter((b) => fresh.delete(`${b.device_id}\u0000${b.seq}`));
  }

  /** Reads the windows with these keys and locks them until the transaction ends (in key order: no deadlocks). */
  async lockWindows(tx: SqlExecutor, refs: WindowRef[]): Promise<Map<string, WindowRow>> {
    const out = new Map<string, WindowRow>();
    if (refs.length === 0) return out;
    const sorted = [...refs].sort((a, b) => (windowRefKey(a) < windowRefKey(b) ? -1 : 1));
    const { rows } = await tx.query<WindowRow>(
      `SELECT ${WINDOW_COLUMNS} FROM windows
       WHERE (level, key, window_start_ms) IN (SELECT * FROM UNNEST($1::text[], $2::text[], $3::bigint[]))
       ORDER BY level, key, window_start_ms
       FOR UPDATE`,
      [sorted.map((r) => r.level), sorted.map((r) => r.key), sorted.map((r) => r.window_start_ms)],
    );
    for (const r of rows) out.set(windowRefKey(r), r);
    return out;
  }

  /** Transaction-scoped advisory locks on corridor windows, taken in the given order. */
  async lockCorridors(tx: SqlExecutor, refs: WindowRef[]): Promise<void> {
    // Ids cannot contain '/', so this text names one window; windowRefKey's NUL separators are not valid SQL text.
    for (const r of refs) await tx.query('SELECT pg_advisory_xact_lock(7472362, hashtext($1))', [`${r.level}/${r.key}/${r.window_start_ms}`]);
  }

  async writeWindows(tx: SqlExecutor, rows: WindowRow[]): Promise<void> {
    if (rows.length === 0) return;
    await tx.query(
      `INSERT INTO windows (${WINDOW_COLUMNS})
       SELECT * FROM UNNEST($1::text[], $2::text[], $3::bigint[], $4::bigint[], $5::int[], $6::text[], $7::bool[], $8::jsonb[], $9::bigint[])
       ON CONFLICT (level, key, window_start_ms) DO UPDATE SET revision = EXCLUDED.revision, state = EXCLUDED.state,
         clock_untrusted = EXCLUDED.clock_untrusted, measures = EXCLUDED.measures, updated_ms = EXCLUDED.updated_ms`,
      [
        rows.map((r) => r.level),
        rows.map((r) => r.key),
        rows.map((r) => r.window_start_ms),
        rows.map((r) => r.window_end_ms),
        rows.map((r) => r.revision),
        rows.map((r) => r.state),
        rows.map((r) => r.clock_untrusted),
        rows.map((r) => JSON.stringify(r.measures)),
        rows.map((r) => r.updated_ms),
      ],
    );
  }

  /** Station windows of the given stations for one window start (for corridor roll-ups). */
  async stationWindows(tx: SqlExecutor, station_ids: string[], window_start_ms: number): Promise<WindowRow[]> {
    const { rows } = await tx.query<WindowRow>(
      `SELECT ${WINDOW_COLUMNS} FROM windows WHERE level = 'station' AND key = ANY($1::text[]) AND window_start_ms = $2`,
      [station_ids, window_start_ms],
    );
    return rows;
  }

  /** Marks provisional windows whose end + grace has passed as final, and returns them. */
  async finalizeDue(now_ms: number, grace_ms: number): Promise<WindowRow[]> {
    const { rows } = await this.db.query<WindowRow>(
      `UPDATE windows SET state = 'final', updated_ms = $1
       WHERE state = 'provisional' AND window_end_ms + $2 <= $1
       RETURNING ${WINDOW_COLUMNS}`,
      [now_ms, grace_ms],
    );
    return rows;
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

  async windowsOf(level: WindowLevel, key: string, from_ms: number, to_ms: number): Promise<WindowRow[]> {
    const { rows } = await this.db.query<WindowRow>(
      `SELECT ${WINDOW_COLUMNS} FROM windows WHERE level = $1 AND key = $2 AND window_start_ms >= $3 AND window_start_ms < $4
       ORDER BY window_start_ms`,
      [level, key, from_ms, to_ms],
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
    await tx.query(
      `INSERT INTO consumer_offsets (group_id, topic, partition, next_offset, updated_ms) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (group_id, topic, partition) DO UPDATE SET next_offset = EXCLUDED.next_offset, updated_ms = EXCLUDED.updated_ms
       WHERE consumer_offsets.next_offset <= EXCLUDED.next_offset OR $6`,
      [group_id, topic, partition, next_offset, now_ms, reset],
    );
  }

  async recordHeartbeats(tx: SqlExecutor, beats: Heartbeat[]): Promise<void> {
    for (const hb of latestBy(beats, (h) => h.device_id, (h) => h.ts_ms)) {
      await tx.query(
        `INSERT INTO devices (device_id, status, status_ms, last_seen_ms, last_heartbeat) VALUES ($1, 'online', NULL, $2, $3)
         ON CONFLICT (device_id) DO UPDATE SET last_seen_ms = GREATEST(devices.last_seen_ms, EXCLUDED.last_seen_ms),
           last_heartbeat = CASE WHEN EXCLUDED.last_seen_ms >= devices.last_seen_ms THEN EXCLUDED.last_heartbeat ELSE devices.last_heartbeat END`,
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

function latestBy<T>(items: T[], key: (t: T) => string, ts: (t: T) => number): T[] {
  const best = new Map<string, T>();
  for (const item of items) {
    const prev = best.get(key(item));
    if (!prev || ts(item) >= ts(prev)) best.set(key(item), item);
  }
  return [...best.values()];
}
