/** Storage of central's analytics: alerts, the latest forecasts, the lease that picks one instance to run them. */
import { mergeAll, WINDOW_MS, type Alert, type Measures, type WindowLevel } from '../../protocol/index.ts';
import type { StationForecast } from '../forecast/station.ts';
import { SLICE, yieldToLoop, type Turn } from '../../platform/slices.ts';
import type { SqlDriver } from './sql.ts';
import { WINDOW_COLUMNS, type RollingPart, type WindowRow } from './rows.ts';

/** A station's newest forecast at one horizon, as stored; the interval is null until enough were scored. */
export interface ForecastRow {
  station_id: string;
  horizon_min: number;
  issued_window_start_ms: number;
  target_window_start_ms: number;
  speed_kmh: number | null;
  occupancy_pct: number | null;
  congestion: string;
  speed_low_kmh: number | null;
  speed_high_kmh: number | null;
  occupancy_low_pct: number | null;
  occupancy_high_pct: number | null;
  /** Null for a forecast stored before intervals existed. */
  worse_congestion: string | null;
}

export class AnalyticsStore {
  private readonly db: SqlDriver;

  constructor(db: SqlDriver) {
    this.db = db;
  }

  /**
   * Takes or renews the lease `name` for `holder` until `now + ttl`; true while this holder has it. A lease that
   * ran out goes to whoever asks next, so a stopped instance's work moves on within one ttl.
   */
  async lease(name: string, holder: string, now_ms: number, ttl_ms: number): Promise<boolean> {
    const { rows } = await this.db.query<{ holder: string }>(
      `INSERT INTO central_leases AS l (name, holder, expires_ms) VALUES ($1, $2, $3)
       ON CONFLICT (name) DO UPDATE SET holder = EXCLUDED.holder, expires_ms = EXCLUDED.expires_ms
       WHERE l.holder = EXCLUDED.holder OR l.expires_ms < $4
       RETURNING holder`,
      [name, holder, now_ms + ttl_ms, now_ms],
    );
    return rows.length === 1;
  }

  async release(name: string, holder: string): Promise<void> {
    await this.db.query('DELETE FROM central_leases WHERE name = $1 AND holder = $2', [name, holder]);
  }

  /** Final and revised windows of these levels starting in [from_ms, to_ms), oldest first. */
  async finalWindowsBetween(levels: WindowLevel[], from_ms: number, to_ms: number): Promise<WindowRow[]> {
    const { rows } = await this.db.query<WindowRow>(
      `SELECT ${WINDOW_COLUMNS} FROM windows WHERE level = ANY($1::text[]) AND window_start_ms >= $2 AND window_start_ms < $3 AND state <> 'provisional'
       ORDER BY window_start_ms, level, key`,
      [levels, from_ms, to_ms],
    );
    return rows;
  }

  /** The windows other instances left for analysis (Store.leaveForAnalysis), as they are now, oldest first; each once. */
  async takeWindowsToAnalyse(): Promise<WindowRow[]> {
    const { rows } = await this.db.query<WindowRow>(
      `WITH taken AS (DELETE FROM windows_to_analyse RETURNING level, key, window_start_ms)
       SELECT ${WINDOW_COLUMNS} FROM windows JOIN taken USING (level, key, window_start_ms)
       WHERE state <> 'provisional' ORDER BY window_start_ms, level, key`,
    );
    return rows;
  }

  /** Empties that list: a new lease holder's warm-up reads the windows from history instead. */
  async forgetWindowsToAnalyse(): Promise<void> {
    await this.db.query('DELETE FROM windows_to_analyse');
  }

  async saveLearnedFreeFlow(learned: ReadonlyMap<string, number>): Promise<void> {
    if (learned.size === 0) return;
    // Locked in key order first, as upsertStations writes them, so an instance starting meanwhile cannot deadlock
    // with this: an UPDATE … FROM locks rows in whatever order its join produces them.
    await this.db.transaction(async (tx) => {
      await tx.query('SELECT 1 FROM stations WHERE station_id = ANY($1::text[]) ORDER BY station_id FOR UPDATE', [[...learned.keys()]]);
      await tx.query(
        `UPDATE stations s SET learned_free_flow_kmh = u.v FROM UNNEST($1::text[], $2::float8[]) AS u(id, v) WHERE s.station_id = u.id`,
        [[...learned.keys()], [...learned.values()]],
      );
    });
  }

  async learnedFreeFlow(): Promise<Map<string, number>> {
    const { rows } = await this.db.query<{ station_id: string; v: number }>('SELECT station_id, learned_free_flow_kmh AS v FROM stations WHERE learned_free_flow_kmh IS NOT NULL');
    return new Map(rows.map((r) => [r.station_id, r.v]));
  }

  /** Stores each alert's latest state; one batch may hold both the opening and the closing of an alert. */
  async saveAlerts(events: Alert[], now_ms: number): Promise<void> {
    const latest = new Map<string, Alert>();
    for (const a of events) {
      const prev = latest.get(a.alert_id);
      latest.set(a.alert_id, prev ? { ...a, opened_ms: Math.min(prev.opened_ms, a.opened_ms) } : a);
    }
    const alerts = [...latest.values()];
    if (alerts.length === 0) return;
    const col = <T>(f: (a: Alert) => T) => alerts.map(f);
    await this.db.query(
      `INSERT INTO alerts (alert_id, kind, rule, key, state, severity, opened_ms, closed_ms, window_start_ms, window_revision, detail, updated_ms)
       SELECT *, $12::bigint FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::bigint[], $8::bigint[], $9::bigint[], $10::int[], $11::text[])
       ON CONFLICT (alert_id) DO UPDATE SET state = EXCLUDED.state, closed_ms = EXCLUDED.closed_ms, window_start_ms = EXCLUDED.window_start_ms,
         window_revision = EXCLUDED.window_revision, detail = EXCLUDED.detail, updated_ms = EXCLUDED.updated_ms`,
      [
        col((a) => a.alert_id), col((a) => a.kind), col((a) => a.rule), col((a) => a.key), col((a) => a.state), col((a) => a.severity),
        col((a) => a.opened_ms), col((a) => a.closed_ms), col((a) => a.window_start_ms), col((a) => a.window_revision), col((a) => a.detail), now_ms,
      ],
    );
  }

  async alerts(state?: Alert['state']): Promise<Alert[]> {
    const { rows } = await this.db.query<Omit<Alert, 'v'>>(
      `SELECT alert_id, kind, rule, key, state, severity, opened_ms, closed_ms, window_start_ms, window_revision, detail FROM alerts
       WHERE $1::text IS NULL OR state = $1 ORDER BY opened_ms, alert_id`,
      [state ?? null],
    );
    return rows.map((r) => ({ v: 1, ...r }));
  }

  /** Marks an alert acknowledged (first acknowledgement wins); false when there is no such alert. */
  async acknowledgeAlert(alert_id: string, by: string, now_ms: number): Promise<boolean> {
    const { rows } = await this.db.query(
      `UPDATE alerts SET acknowledged_ms = COALESCE(acknowledged_ms, $2), acknowledged_by = COALESCE(acknowledged_by, $3) WHERE alert_id = $1 RETURNING 1`,
      [alert_id, now_ms, by],
    );
    return rows.length === 1;
  }

  /** The newest alerts first (by when they last changed): open ones and recent history. */
  async recentAlerts(state: Alert['state'] | null, since_ms: number | null, limit: number): Promise<(Alert & { acknowledged_ms: number | null; acknowledged_by: string | null })[]> {
    const { rows } = await this.db.query<Omit<Alert, 'v'> & { acknowledged_ms: number | null; acknowledged_by: string | null }>(
      `SELECT alert_id, kind, rule, key, state, severity, opened_ms, closed_ms, window_start_ms, window_revision, detail, acknowledged_ms, acknowledged_by FROM alerts
       WHERE ($1::text IS NULL OR state = $1) AND ($2::bigint IS NULL OR GREATEST(opened_ms, COALESCE(closed_ms, 0)) >= $2)
       ORDER BY GREATEST(opened_ms, COALESCE(closed_ms, 0)) DESC, alert_id LIMIT $3`,
      [state, since_ms, limit],
    );
    return rows.map((r) => ({ v: 1, ...r }));
  }

  async saveForecasts(forecasts: StationForecast[], now_ms: number): Promise<void> {
    const rows = forecasts.flatMap((f) => f.horizons.map((h) => ({ ...h, key: f.key, issued: f.issued_window_start_ms })));
    if (rows.length === 0) return;
    const col = <T>(f: (r: (typeof rows)[number]) => T) => rows.map(f);
    await this.db.query(
      `INSERT INTO forecasts (station_id, horizon_min, issued_window_start_ms, target_window_start_ms, speed_kmh, occupancy_pct, congestion,
         speed_low_kmh, speed_high_kmh, occupancy_low_pct, occupancy_high_pct, worse_congestion, updated_ms)
       SELECT *, $13::bigint FROM UNNEST($1::text[], $2::int[], $3::bigint[], $4::bigint[], $5::float8[], $6::float8[], $7::text[],
         $8::float8[], $9::float8[], $10::float8[], $11::float8[], $12::text[])
       ON CONFLICT (station_id, horizon_min) DO UPDATE SET issued_window_start_ms = EXCLUDED.issued_window_start_ms,
         target_window_start_ms = EXCLUDED.target_window_start_ms, speed_kmh = EXCLUDED.speed_kmh, occupancy_pct = EXCLUDED.occupancy_pct,
         congestion = EXCLUDED.congestion, speed_low_kmh = EXCLUDED.speed_low_kmh, speed_high_kmh = EXCLUDED.speed_high_kmh,
         occupancy_low_pct = EXCLUDED.occupancy_low_pct, occupancy_high_pct = EXCLUDED.occupancy_high_pct,
         worse_congestion = EXCLUDED.worse_congestion, updated_ms = EXCLUDED.updated_ms
       WHERE forecasts.issued_window_start_ms <= EXCLUDED.issued_window_start_ms`,
      [
        col((r) => r.key), col((r) => r.horizon_min), col((r) => r.issued), col((r) => r.target_window_start_ms), col((r) => r.speed_kmh), col((r) => r.occupancy_pct), col((r) => r.congestion),
        col((r) => r.speed_interval?.low ?? null), col((r) => r.speed_interval?.high ?? null), col((r) => r.occupancy_interval?.low ?? null), col((r) => r.occupancy_interval?.high ?? null),
        col((r) => r.worse_congestion), now_ms,
      ],
    );
  }

  async forecasts(): Promise<ForecastRow[]> {
    const { rows } = await this.db.query<ForecastRow>(
      `SELECT station_id, horizon_min, issued_window_start_ms, target_window_start_ms, speed_kmh, occupancy_pct, congestion,
         speed_low_kmh, speed_high_kmh, occupancy_low_pct, occupancy_high_pct, worse_congestion
       FROM forecasts ORDER BY station_id, horizon_min`,
    );
    return rows;
  }

  /**
   * Recomputes the rolling view of every station, or of a share of them: for each, the bins wholly inside the `span_ms` before its event-time
   * progress (the latest end of its recent bins: the detectors table moves a detector's progress only once a
   * window), merged. A detector that has not reached that point yet adds
   * the samples it should have sent to the expected count, so the observed fraction shows the gap.
   */
  async refreshRolling(now_ms: number, span_ms: number, share: StationShare = EVERY_STATION, turn: Turn = yieldToLoop): Promise<RollingRow[]> {
    // PostgreSQL sums each detector's bins inside its station's span and sends one row per detector. It used to
    // send the bins themselves, five minutes of every station's (a quarter of a million at 5,000 bins/s in the
    // load test), for central to parse and merge: the refresh was then the load test's slowest second every
    // minute, 1.3–1.9 s of PostgreSQL and as much again of central.
    const { rows } = await this.db.query<RollingPartRow>(
      `WITH progress AS (
         SELECT r.station_id, r.end_ms, array_agg(d.detector_id) AS detectors
         FROM (SELECT station_id, max(last_end_ms) AS end_ms FROM recent_bins
               WHERE (hashtext(station_id) & 2147483647) % $3::int = $2::int GROUP BY station_id) r
         JOIN detectors d ON d.station_id = r.station_id
         GROUP BY r.station_id, r.end_ms),
       -- Batches that ended before the span their station's progress can still reach are never read again.
       pruned AS (
         DELETE FROM recent_bins r USING progress p WHERE r.station_id = p.station_id AND r.last_end_ms <= p.end_ms - $1::bigint)
       SELECT p.station_id, p.end_ms, p.detectors, b.detector_id, sum(b.bin_ms)::float8 AS covered_ms,
         sum(b.volume) AS volume, sum(b.occupied_ms) AS occupied_ms, sum(b.occupancy_observed_ms) AS occupancy_observed_ms,
         sum(b.speed_weight) AS speed_weight, sum(b.speed_sum) AS speed_sum, sum(b.speed_inverse_sum) AS speed_inverse_sum,
         min(b.speed_min_kmh) AS speed_min_kmh, max(b.speed_max_kmh) AS speed_max_kmh,
         sum(b.samples_seen) AS samples_seen, sum(b.samples_expected) AS samples_expected, max(b.queue_max_veh) AS queue_max_veh
       FROM progress p
       JOIN recent_bins r ON r.station_id = p.station_id AND r.last_end_ms > p.end_ms - $1::bigint AND r.first_start_ms < p.end_ms
       CROSS JOIN LATERAL json_to_recordset(r.bins) AS b(detector_id text, bin_start_ms bigint, bin_ms bigint,
         volume float8, occupied_ms float8, occupancy_observed_ms float8, speed_weight float8, speed_sum float8,
         speed_inverse_sum float8, speed_min_kmh float8, speed_max_kmh float8, samples_seen float8, samples_expected float8,
         queue_max_veh float8)
       WHERE b.bin_start_ms >= p.end_ms - $1::bigint AND b.bin_start_ms + b.bin_ms <= p.end_ms
       GROUP BY p.station_id, p.end_ms, p.detectors, b.detector_id
       ORDER BY p.station_id`,
      [span_ms, share.part, share.parts],
    );
    const out: RollingRow[] = [];
    let stations = 0;
    for (let i = 0; i < rows.length; ) {
      let j = i + 1;
      while (j < rows.length && rows[j]!.station_id === rows[i]!.station_id) j++;
      if (++stations % SLICE === 0) await turn();
      out.push(rollingRow(rows.slice(i, j).map(rollingPart), span_ms, now_ms));
      i = j;
    }
    if (out.length === 0) return out;
    await this.db.query(
      `INSERT INTO rolling_windows (station_id, window_start_ms, window_end_ms, measures, updated_ms)
       SELECT * FROM UNNEST($1::text[], $2::bigint[], $3::bigint[], $4::jsonb[], $5::bigint[])
       ON CONFLICT (station_id) DO UPDATE SET window_start_ms = EXCLUDED.window_start_ms, window_end_ms = EXCLUDED.window_end_ms,
         measures = EXCLUDED.measures, updated_ms = EXCLUDED.updated_ms`,
      [out.map((r) => r.station_id), out.map((r) => r.window_start_ms), out.map((r) => r.window_end_ms), out.map((r) => JSON.stringify(r.measures)), out.map((r) => r.updated_ms)],
    );
    return out;
  }

  async rolling(): Promise<RollingRow[]> {
    const { rows } = await this.db.query<RollingRow>('SELECT station_id, window_start_ms, window_end_ms, measures, updated_ms FROM rolling_windows ORDER BY station_id');
    return rows;
  }
}

/** The stations whose id hashes to `part` of `parts` (hashtext, in PostgreSQL): a refresh of some of them. */
export interface StationShare {
  part: number;
  parts: number;
}

const EVERY_STATION: StationShare = { part: 0, parts: 1 };

/** A row of the refresh: one detector's sums, as the driver returns them. */
type RollingPartRow = Omit<RollingPart, 'measures'> & Omit<Measures, 'queue_max_veh'> & { queue_max_veh: number | null };

function rollingPart(r: RollingPartRow): RollingPart {
  const { station_id, end_ms, detectors, detector_id, covered_ms, queue_max_veh, ...sums } = r;
  return { station_id, end_ms: Number(end_ms), detectors, detector_id, covered_ms, measures: { ...sums, ...(queue_max_veh === null ? {} : { queue_max_veh }) } };
}

/**
 * A station's rolling row from its detectors' sums inside the span before its progress, merged; a detector short
 * of the span (fewer bins, or none) adds the samples it should have sent to the expected count: at its own rate,
 * or at the mean rate of those with bins.
 */
export function rollingRow(parts: RollingPart[], span_ms: number, now_ms: number): RollingRow {
  const { station_id, end_ms, detectors } = parts[0]!;
  const measures = mergeAll(parts.map((p) => p.measures));
  const covered = new Map(parts.map((p) => [p.detector_id, p]));
  const rates = parts.filter((p) => p.covered_ms > 0).map((p) => p.measures.samples_expected / p.covered_ms);
  const meanRate = rates.reduce((a, b) => a + b, 0) / Math.max(1, rates.length);
  for (const d of detectors) {
    const c = covered.get(d);
    const missing = span_ms - (c?.covered_ms ?? 0);
    if (missing > 0) measures.samples_expected += Math.round(missing * (c && c.covered_ms > 0 ? c.measures.samples_expected / c.covered_ms : meanRate));
  }
  return { station_id, window_start_ms: end_ms - span_ms, window_end_ms: end_ms, measures, updated_ms: now_ms };
}

/** The rolling view's span: the five minutes before each station's progress. */
export const ROLLING_SPAN_MS = WINDOW_MS;

/** A rolling row as a window row (station level, provisional, revision 0), for toWindowResult. */
export function rollingAsWindow(r: RollingRow): WindowRow {
  return { level: 'station', key: r.station_id, window_start_ms: r.window_start_ms, window_end_ms: r.window_end_ms, revision: 0, state: 'provisional', clock_untrusted: false, measures: r.measures, updated_ms: r.updated_ms };
}

export interface RollingRow {
  station_id: string;
  window_start_ms: number;
  window_end_ms: number;
  measures: Measures;
  updated_ms: number;
}
