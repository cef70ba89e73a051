/** Migrations that move data: a database at an older version keeps what it holds. PGlite, and PostgreSQL when configured. */
import { afterAll, describe, expect, it } from 'vitest';
import { expecting } from '../../protocol/index.ts';
import { serviceAddress } from '../../test/services.ts';
import { migrate, MIGRATIONS } from './migrations.ts';
import { maintainPartitions, WINDOWS_FILLFACTOR } from './partitions.ts';
import { openPostgres } from './pg-driver.ts';
import { openPglite } from './pglite-driver.ts';
import type { SqlDriver } from './sql.ts';
import { withSchema } from './test-schema.ts';

const url = serviceAddress('WACOFLOW_DATABASE_URL');
const backends: { name: string; open: () => Promise<SqlDriver> }[] = [{ name: 'PGlite', open: () => openPglite() }];
if (url) {
  const scoped: ReturnType<typeof withSchema>[] = [];
  afterAll(() => Promise.all(scoped.map((s) => s.drop())));
  backends.push({
    name: 'PostgreSQL',
    open: async () => {
      const s = withSchema(url);
      scoped.push(s);
      return openPostgres(await s.url());
    },
  });
}

const T0 = 1_764_230_400_000;
const DAY = 86_400_000;
/** The day partition of the day `offset` days after T0's. */
const dayPartition = (offset: number) => `windows_d${new Date(T0 + offset * DAY).toISOString().slice(0, 10).replaceAll('-', '')}`;

describe.each(backends)('migrations on $name', ({ open }) => {
  it('7 turns the per-bin dedupe table into runs of seqs, losing none, and keeps the bins the rolling view can reach', async () => {
    const db = await open();
    try {
      expect(await migrate(db, MIGRATIONS.filter((m) => m.version < 7))).toEqual([1, 2, 3, 4, 5, 6]);
      // agent-a: seqs 1–3 and 7–8 (a crash skipped 4–6); agent-b: seq 5 alone.
      const bins = [['agent-a', 1], ['agent-a', 2], ['agent-a', 3], ['agent-a', 7], ['agent-a', 8], ['agent-b', 5]] as const;
      for (const [i, [device_id, seq]] of bins.entries()) {
        await db.query(
          `INSERT INTO ingested_bins (device_id, seq, detector_id, station_id, bin_start_ms, bin_ms, clock_synced, measures, received_ms)
           VALUES ($1, $2, $3, $4, $5, 60000, true, $6, $5)`,
          [device_id, seq, `${device_id}-d`, device_id === 'agent-a' ? 's1' : 's2', T0 + i * 60_000, JSON.stringify({ ...expecting(3), volume: seq })],
        );
      }
      // Station progress (the latest bin end of its detectors): s1 at minute 6, s2 at minute 6.
      for (const [detector_id, station_id] of [['agent-a-d', 's1'], ['agent-b-d', 's2']]) {
        await db.query("INSERT INTO detectors (detector_id, station_id, source, last_event_ms, updated_ms) VALUES ($1, $2, 'observed', $3, $3)", [detector_id, station_id, T0 + 6 * 60_000]);
      }
      expect(await migrate(db, MIGRATIONS.filter((m) => m.version <= 7))).toEqual([7]);
      const runs = await db.query('SELECT device_id, first_seq, last_seq, last_bin_start_ms FROM ingested_seqs ORDER BY device_id, first_seq');
      expect(runs.rows).toEqual([
        { device_id: 'agent-a', first_seq: 1, last_seq: 3, last_bin_start_ms: T0 + 2 * 60_000 },
        { device_id: 'agent-a', first_seq: 7, last_seq: 8, last_bin_start_ms: T0 + 4 * 60_000 },
        { device_id: 'agent-b', first_seq: 5, last_seq: 5, last_bin_start_ms: T0 + 5 * 60_000 },
      ]);
      const recent = await db.query<{ station_id: string; first_start_ms: number; last_end_ms: number; bins: { detector_id: string; measures: { volume: number } }[] }>(
        'SELECT station_id, first_start_ms, last_end_ms, bins FROM recent_bins ORDER BY station_id',
      );
      // Only what the rolling view can still reach: bins from five minutes before the progress on (s1's first
      // bin, at minute 0, is out).
      expect(recent.rows.map((r) => [r.station_id, r.first_start_ms, r.last_end_ms, r.bins.map((b) => b.measures.volume).sort()])).toEqual([
        ['s1', T0 + 60_000, T0 + 5 * 60_000, [2, 3, 7, 8]],
        ['s2', T0 + 5 * 60_000, T0 + 6 * 60_000, [5]],
      ]);
    } finally {
      await db.close();
    }
  });

  it('9 makes recent_bins unlogged, keeping its bins with their measures flattened, and leaves room on every window partition’s pages', async () => {
    const db = await open();
    try {
      await migrate(db, MIGRATIONS.filter((m) => m.version < 9));
      await maintainPartitions(db, T0, { back_days: 1, ahead_days: 1, retention_days: 400 });
      const measures = { ...expecting(3), volume: 4, samples_seen: 3 };
      await db.query('INSERT INTO recent_bins (station_id, first_start_ms, last_end_ms, bins) VALUES ($1, $2, $3, $4)', [
        's1', T0, T0 + 120_000,
        JSON.stringify([0, 1].map((m) => ({ detector_id: 's1-d', bin_start_ms: T0 + m * 60_000, bin_ms: 60_000, measures }))),
      ]);
      expect(await migrate(db, MIGRATIONS.filter((m) => m.version <= 9))).toEqual([9]);
      const tables = await db.query<{ relname: string; relpersistence: string; reloptions: string[] | null }>(
        `SELECT c.relname, c.relpersistence, c.reloptions FROM pg_class c
         WHERE c.oid = 'recent_bins'::regclass OR c.oid IN (SELECT inhrelid FROM pg_inherits WHERE inhparent = 'windows'::regclass) ORDER BY c.relname`,
      );
      expect(tables.rows.find((t) => t.relname === 'recent_bins')?.relpersistence).toBe('u');
      const partitions = tables.rows.filter((t) => t.relname !== 'recent_bins');
      expect(partitions.map((t) => t.relname)).toEqual([dayPartition(-1), dayPartition(0), dayPartition(1), 'windows_default']);
      for (const t of partitions) expect(t.reloptions, t.relname).toEqual([`fillfactor=${WINDOWS_FILLFACTOR}`]);
      // A day partition made later gets the same room.
      await maintainPartitions(db, T0 + 2 * DAY, { back_days: 0, ahead_days: 0, retention_days: 400 });
      const later = await db.query<{ reloptions: string[] | null }>('SELECT reloptions FROM pg_class WHERE oid = $1::regclass', [dayPartition(2)]);
      expect(later.rows[0]?.reloptions).toEqual([`fillfactor=${WINDOWS_FILLFACTOR}`]);
      // The bins kept, their measures beside their detector and time.
      const kept = await db.query<{ bins: unknown[] }>('SELECT bins FROM recent_bins');
      expect(kept.rows.map((r) => r.bins)).toEqual([[0, 1].map((m) => ({ detector_id: 's1-d', bin_start_ms: T0 + m * 60_000, bin_ms: 60_000, ...measures }))]);
    } finally {
      await db.close();
    }
  });
});
