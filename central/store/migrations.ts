/**
 * Versioned migrations, applied in order at start-up inside one transaction each, under an advisory lock so
 * several central instances starting together apply each migration once. The same SQL runs on PostgreSQL and
 * PGlite. Never edit a released migration: add the next one.
 */
import { WINDOWS_FILLFACTOR } from './partitions.ts';
import type { SqlDriver } from './sql.ts';

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const MIGRATIONS: Migration[] = [
  {
    version: 1,
    name: 'skeleton: inventory, ingested bins, windows, offsets, devices, dead letters',
    sql: `
      CREATE TABLE stations (
        station_id     text PRIMARY KEY,
        name           text NOT NULL,
        kind           text NOT NULL CHECK (kind IN ('freeway', 'intersection')),
        corridor_id    text,
        lat            double precision NOT NULL,
        lon            double precision NOT NULL,
        lanes          integer NOT NULL,
        free_flow_kmh  double precision NOT NULL,
        updated_ms     bigint NOT NULL
      );

      -- Every bin central has counted, keyed by its identity: the dedupe table of the acknowledgement chain.
      CREATE TABLE ingested_bins (
        device_id     text NOT NULL,
        seq           bigint NOT NULL,
        detector_id   text NOT NULL,
        station_id    text NOT NULL,
        bin_start_ms  bigint NOT NULL,
        bin_ms        integer NOT NULL,
        clock_synced  boolean NOT NULL,
        measures      jsonb NOT NULL,
        received_ms   bigint NOT NULL,
        PRIMARY KEY (device_id, seq)
      );
      CREATE INDEX ingested_bins_time ON ingested_bins (bin_start_ms);

      CREATE TABLE windows (
        level             text NOT NULL CHECK (level IN ('detector', 'station', 'corridor')),
        key               text NOT NULL,
        window_start_ms   bigint NOT NULL,
        window_end_ms     bigint NOT NULL,
        revision          integer NOT NULL,
        state             text NOT NULL CHECK (state IN ('provisional', 'final', 'revised')),
        clock_untrusted   boolean NOT NULL,
        measures          jsonb NOT NULL,
        updated_ms        bigint NOT NULL,
        PRIMARY KEY (level, key, window_start_ms)
      );
      CREATE INDEX windows_open ON windows (window_end_ms) WHERE state = 'provisional';

      CREATE TABLE consumer_offsets (
        group_id     text NOT NULL,
        topic        text NOT NULL,
        partition    integer NOT NULL,
        next_offset  bigint NOT NULL,
        updated_ms   bigint NOT NULL,
        PRIMARY KEY (group_id, topic, partition)
      );

      CREATE TABLE devices (
        device_id       text PRIMARY KEY,
        status          text NOT NULL CHECK (status IN ('online', 'offline', 'unknown')),
        status_ms       bigint,
        last_seen_ms    bigint NOT NULL,
        last_heartbeat  jsonb
      );

      CREATE TABLE dead_letters (
        id              bigserial PRIMARY KEY,
        received_ms     bigint NOT NULL,
        stage           text NOT NULL,
        reason          text NOT NULL,
        field           text,
        source          jsonb NOT NULL,
        payload_base64  text NOT NULL
      );
    `,
  },
  {
    version: 2,
    name: 'detector inventory with event-time progress, late events, central progress cursors',
    sql: `
      -- Every detector central knows: from the configured inventory or from its first bin. Known detectors get
      -- a no_data window for every 5 minutes they send nothing, so an offline detector is visible, not missing.
      CREATE TABLE detectors (
        detector_id     text PRIMARY KEY,
        station_id      text NOT NULL,
        source          text NOT NULL CHECK (source IN ('inventory', 'observed')),
        first_seen_ms   bigint,
        -- Event-time progress of this key: the latest bin end seen (never goes backwards).
        last_event_ms   bigint,
        updated_ms      bigint NOT NULL
      );
      CREATE INDEX detectors_station ON detectors (station_id);

      -- Bins that arrived after their window's late horizon: counted and kept here, never folded, never lost.
      CREATE TABLE late_events (
        id               bigserial PRIMARY KEY,
        received_ms      bigint NOT NULL,
        device_id        text NOT NULL,
        seq              bigint NOT NULL,
        detector_id      text NOT NULL,
        station_id       text NOT NULL,
        bin_start_ms     bigint NOT NULL,
        bin_ms           integer NOT NULL,
        window_start_ms  bigint NOT NULL,
        lateness_ms      bigint NOT NULL,
        measures         jsonb NOT NULL
      );
      CREATE INDEX late_events_time ON late_events (received_ms);

      -- Named positions of central's periodic work, e.g. how far no_data windows have been filled in.
      CREATE TABLE central_progress (
        name        text PRIMARY KEY,
        value_ms    bigint NOT NULL,
        updated_ms  bigint NOT NULL
      );
    `,
  },
  {
    version: 3,
    name: 'alerts, latest forecasts, leases',
    sql: `
      -- Alerts open and close as events; this row is the alert's latest state.
      CREATE TABLE alerts (
        alert_id         text PRIMARY KEY,
        kind             text NOT NULL CHECK (kind IN ('traffic', 'detector_health', 'device')),
        rule             text NOT NULL,
        key              text NOT NULL,
        state            text NOT NULL CHECK (state IN ('open', 'closed')),
        severity         text NOT NULL,
        opened_ms        bigint NOT NULL,
        closed_ms        bigint,
        window_start_ms  bigint,
        window_revision  integer,
        detail           text NOT NULL,
        updated_ms       bigint NOT NULL
      );
      CREATE INDEX alerts_open ON alerts (key) WHERE state = 'open';

      -- The newest forecast of every station and horizon.
      CREATE TABLE forecasts (
        station_id              text NOT NULL,
        horizon_min             integer NOT NULL,
        issued_window_start_ms  bigint NOT NULL,
        target_window_start_ms  bigint NOT NULL,
        speed_kmh               double precision,
        occupancy_pct           double precision,
        congestion              text NOT NULL,
        updated_ms              bigint NOT NULL,
        PRIMARY KEY (station_id, horizon_min)
      );

      -- The rolling view: each station's last five minutes up to its own event-time progress, refreshed every minute.
      CREATE TABLE rolling_windows (
        station_id       text PRIMARY KEY,
        window_start_ms  bigint NOT NULL,
        window_end_ms    bigint NOT NULL,
        measures         jsonb NOT NULL,
        updated_ms       bigint NOT NULL
      );
      CREATE INDEX ingested_bins_station_time ON ingested_bins (station_id, bin_start_ms);

      -- Free-flow speed learned from the station's own windows (central/classify/free-flow.ts); null until then.
      ALTER TABLE stations ADD COLUMN learned_free_flow_kmh double precision;

      -- Work one central instance does for all (finalising windows, analytics): whoever holds the lease.
      CREATE TABLE central_leases (
        name        text PRIMARY KEY,
        holder      text NOT NULL,
        expires_ms  bigint NOT NULL
      );
    `,
  },
  {
    version: 4,
    name: 'windows partitioned by day of window start',
    sql: `
      -- One partition per UTC day (created ahead by Store.maintainPartitions), plus a default partition for
      -- anything outside them; old days are dropped whole for retention.
      ALTER TABLE windows RENAME TO windows_unpartitioned;
      CREATE TABLE windows (
        level             text NOT NULL CHECK (level IN ('detector', 'station', 'corridor')),
        key               text NOT NULL,
        window_start_ms   bigint NOT NULL,
        window_end_ms     bigint NOT NULL,
        revision          integer NOT NULL,
        state             text NOT NULL CHECK (state IN ('provisional', 'final', 'revised')),
        clock_untrusted   boolean NOT NULL,
        measures          jsonb NOT NULL,
        updated_ms        bigint NOT NULL,
        PRIMARY KEY (level, key, window_start_ms)
      ) PARTITION BY RANGE (window_start_ms);
      CREATE TABLE windows_default PARTITION OF windows DEFAULT;
      INSERT INTO windows SELECT * FROM windows_unpartitioned;
      DROP TABLE windows_unpartitioned;
      CREATE INDEX windows_open ON windows (window_end_ms) WHERE state = 'provisional';
    `,
  },
  {
    version: 5,
    name: 'late events keyed by bin, so the dedupe table can forget old bins',
    sql: `
      -- ingested_bins forgets bins older than the late horizon (Store.pruneDedupe); such a bin can only be a late
      -- event, so late_events keeps its own (device_id, seq) key and records a redelivered one once.
      DELETE FROM late_events a USING late_events b WHERE a.device_id = b.device_id AND a.seq = b.seq AND a.id > b.id;
      CREATE UNIQUE INDEX late_events_bin ON late_events (device_id, seq);
    `,
  },
  {
    version: 6,
    name: 'alerts acknowledged by operators',
    sql: `
      ALTER TABLE alerts ADD COLUMN acknowledged_ms bigint;
      ALTER TABLE alerts ADD COLUMN acknowledged_by text;
      -- The device whose bins a detector's latest data came from: the fleet page's detector health per board.
      ALTER TABLE detectors ADD COLUMN device_id text;
    `,
  },
  {
    version: 7,
    name: 'dedupe by runs of seqs; recent bins for the rolling view',
    sql: `
      -- An instance of an older version still ingesting must not add bins between the copy and the drop.
      LOCK TABLE ingested_bins IN EXCLUSIVE MODE;

      -- What central has counted, as each device's runs of consecutive seqs (central/store/seq-runs.ts) instead of
      -- a row per bin. No unique key: ingest reads and rewrites a device's runs under a per-device advisory lock.
      CREATE TABLE ingested_seqs (
        device_id          text NOT NULL,
        first_seq          bigint NOT NULL,
        last_seq           bigint NOT NULL,
        last_bin_start_ms  bigint NOT NULL
      );
      CREATE INDEX ingested_seqs_device ON ingested_seqs (device_id, last_seq);
      CREATE INDEX ingested_seqs_time ON ingested_seqs (last_bin_start_ms);
      INSERT INTO ingested_seqs (device_id, first_seq, last_seq, last_bin_start_ms)
        SELECT device_id, min(seq), max(seq), max(bin_start_ms)
        FROM (SELECT device_id, seq, bin_start_ms, seq - row_number() OVER (PARTITION BY device_id ORDER BY seq) AS run FROM ingested_bins) AS numbered
        GROUP BY device_id, run;

      -- The rolling view's input: the bins counted in each ingest batch, one row per station, as a JSON array.
      CREATE TABLE recent_bins (
        station_id      text NOT NULL,
        first_start_ms  bigint NOT NULL,
        last_end_ms     bigint NOT NULL,
        bins            json NOT NULL
      );
      CREATE INDEX recent_bins_station ON recent_bins (station_id, last_end_ms);
      -- Only the bins the view can still reach: those in the five minutes before their station's progress.
      INSERT INTO recent_bins (station_id, first_start_ms, last_end_ms, bins)
        SELECT b.station_id, min(b.bin_start_ms), max(b.bin_start_ms + b.bin_ms),
          json_agg(json_build_object('detector_id', b.detector_id, 'bin_start_ms', b.bin_start_ms, 'bin_ms', b.bin_ms, 'measures', b.measures))
        FROM ingested_bins b
        JOIN (SELECT station_id, max(last_event_ms) AS end_ms FROM detectors GROUP BY station_id) p ON p.station_id = b.station_id
        WHERE b.bin_start_ms >= p.end_ms - 300000
        GROUP BY b.station_id;

      DROP TABLE ingested_bins;
    `,
  },
  {
    version: 8,
    name: 'forecast intervals',
    sql: `
      -- The 80 % interval of each forecast (central/forecast/series.ts), null until enough forecasts were
      -- scored, and the congestion level at its worse end, which raises onset warnings.
      ALTER TABLE forecasts ADD COLUMN speed_low_kmh double precision;
      ALTER TABLE forecasts ADD COLUMN speed_high_kmh double precision;
      ALTER TABLE forecasts ADD COLUMN occupancy_low_pct double precision;
      ALTER TABLE forecasts ADD COLUMN occupancy_high_pct double precision;
      ALTER TABLE forecasts ADD COLUMN worse_congestion text;
    `,
  },
  {
    version: 9,
    name: 'recent bins unlogged, their measures flattened; room on window pages for their updates',
    sql: `
      -- recent_bins is the rolling view's input, a cache of the last minutes of bins whose record is the windows
      -- table: written without WAL. After a crash PostgreSQL empties it, and for up to five minutes the view shows
      -- the bins it misses as missing samples (a lower observed fraction), never as traffic. Its inserts and the
      -- refresh's deletes were a third of the WAL in the load test.
      ALTER TABLE recent_bins SET UNLOGGED;
      -- Each bin's measures beside its detector and time (RecentBin), so the refresh sums them in SQL.
      UPDATE recent_bins SET bins = (
        SELECT json_agg((b - 'measures') || coalesce(b -> 'measures', '{}'::jsonb)) FROM jsonb_array_elements(bins::jsonb) AS b);
      -- A live window is rewritten with every batch that brings it bins. On a full page each new version goes to
      -- another page with new entries in both indexes; with room on the page it is a heap-only update, no index
      -- touched (Store.maintainPartitions creates new day partitions with the same setting).
      DO $$
      DECLARE p regclass;
      BEGIN
        FOR p IN SELECT inhrelid::regclass FROM pg_inherits WHERE inhparent = 'windows'::regclass LOOP
          EXECUTE format('ALTER TABLE %s SET (fillfactor = ${WINDOWS_FILLFACTOR})', p);
        END LOOP;
      END $$;
    `,
  },
  {
    version: 10,
    name: 'windows made final by an instance that does not run the analytics, for the one that does',
    sql: `
      -- A window first written after its deadline is written final by the instance that ingests it, and a late
      -- bin revises a final one there too. The analytics run on the finalizer lease's holder: another instance
      -- leaves the windows' keys here, and the holder's next pass analyses them (Finalizer.pass).
      CREATE TABLE windows_to_analyse (
        level text NOT NULL,
        key text NOT NULL,
        window_start_ms bigint NOT NULL,
        PRIMARY KEY (level, key, window_start_ms)
      );
    `,
  },
];

export async function migrate(db: SqlDriver, migrations: Migration[] = MIGRATIONS): Promise<number[]> {
  const applied: number[] = [];
  await db.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock(7472361)'); // 'WF' — one migrator at a time
    await tx.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
    const done = new Set((await tx.query<{ version: number }>('SELECT version FROM schema_migrations')).rows.map((r) => r.version));
    for (const m of [...migrations].sort((a, b) => a.version - b.version)) {
      if (done.has(m.version)) continue;
      await tx.exec(m.sql);
      await tx.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [m.version, m.name]);
      applied.push(m.version);
    }
  });
  return applied;
}
