/**
 * Day partitions of the windows table: created ahead of time, dropped whole when they age out. Rows that landed
 * in the default partition (before a day's partition existed) are moved into it as it is created. Runs under an
 * advisory lock, so instances never race on the catalogue.
 */
import type { SqlDriver, SqlExecutor } from './sql.ts';

const DAY_MS = 86_400_000;

/**
 * Each day partition of windows leaves 30 % of a page free: a live window is rewritten with every batch that
 * brings it bins, and a new version that fits on its page is a heap-only update, which touches no index.
 */
export const WINDOWS_FILLFACTOR = 70;
const NAME = /^windows_d(\d{4})(\d{2})(\d{2})$/;

export interface PartitionPlan {
  /** Days before today to have a partition for (late bins land there). */
  back_days: number;
  /** Days after today to create ahead. */
  ahead_days: number;
  /** Windows older than this are dropped (whole day partitions, and matching rows of the default partition). */
  retention_days: number;
}

export const DEFAULT_PARTITIONS: PartitionPlan = { back_days: 7, ahead_days: 2, retention_days: 400 };

const dayName = (day_ms: number) => `windows_d${new Date(day_ms).toISOString().slice(0, 10).replaceAll('-', '')}`;

function dayOf(name: string): number | null {
  const m = NAME.exec(name);
  return m ? Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])) : null;
}

async function dayPartitions(tx: SqlExecutor): Promise<Map<string, number>> {
  const { rows } = await tx.query<{ name: string }>(
    `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'windows'::regclass`,
  );
  return new Map(rows.flatMap((r) => {
    const day = dayOf(r.name);
    return day === null ? [] : [[r.name, day] as const];
  }));
}

export async function maintainPartitions(db: SqlDriver, now_ms: number, plan: PartitionPlan = DEFAULT_PARTITIONS): Promise<{ created: string[]; dropped: string[] }> {
  return db.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock(7472363)');
    const existing = await dayPartitions(tx);
    const today = Math.floor(now_ms / DAY_MS) * DAY_MS;
    const wanted: number[] = [];
    for (let day = today - plan.back_days * DAY_MS; day <= today + plan.ahead_days * DAY_MS; day += DAY_MS) {
      if (!existing.has(dayName(day))) wanted.push(day);
    }
    const cutoff = today - plan.retention_days * DAY_MS;
    const expired = [...existing].filter(([, day]) => day + DAY_MS <= cutoff).map(([name]) => name);
    if (wanted.length > 0 || expired.length > 0) {
      // The whole table, first and at once: ingest holds weak locks on every partition (its reads scan them all)
      // and may then write to the default partition, so locking partitions one by one, stronger as the work
      // goes on, met ingest in a circle and one side was killed as a deadlock. Writers and readers wait the few
      // milliseconds this takes, about once a day.
      await tx.exec('LOCK TABLE windows IN ACCESS EXCLUSIVE MODE');
    }
    const created: string[] = [];
    for (const day of wanted) {
      const name = dayName(day);
      // Build the partition beside the table, fill it with its day's rows from the default partition, attach it:
      // attaching checks that the default partition holds nothing of that day any more.
      await tx.exec(`CREATE TABLE ${name} (LIKE windows INCLUDING DEFAULTS INCLUDING CONSTRAINTS) WITH (fillfactor = ${WINDOWS_FILLFACTOR})`);
      await tx.query(`WITH moved AS (DELETE FROM windows_default WHERE window_start_ms >= $1 AND window_start_ms < $2 RETURNING *) INSERT INTO ${name} SELECT * FROM moved`, [day, day + DAY_MS]);
      await tx.exec(`ALTER TABLE windows ATTACH PARTITION ${name} FOR VALUES FROM (${day}) TO (${day + DAY_MS})`);
      created.push(name);
    }
    for (const name of expired) await tx.exec(`DROP TABLE ${name}`);
    await tx.query('DELETE FROM windows_default WHERE window_start_ms < $1', [cutoff]);
    return { created, dropped: expired };
  });
}
