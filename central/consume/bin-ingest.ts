/**
 * Log batches of bins → one PostgreSQL transaction: new bins (deduplicated by (device_id, seq)), the detector,
 * station and corridor windows they change, dead letters for undecodable records, and each partition's next
 * offset. Only after the commit are the offsets committed to the log and the windows emitted.
 */
import { binsOfRecord, windowStartOfBin, WINDOW_MS, type Bin, type DeadLetter, type Station } from '../../protocol/index.ts';
import type { LogBatch, LogConsumer, LogRecord } from '../../platform/log/log.ts';
import { corridorRefsOf, foldBins, foldCorridorBins, windowRefsOf, type CorridorOf, type FoldTime } from '../windows/fold.ts';
import { ROLLING_SPAN_MS } from '../store/analytics-store.ts';
import { inKeyOrder, type Store } from '../store/store.ts';
import type { WindowRow } from '../store/rows.ts';
import { CombinedWrites } from '../store/sql.ts';
import type { ConsumeContext } from './partition-positions.ts';

export interface IngestDeps extends ConsumeContext {
  stations: ReadonlyMap<string, Station>;
  /** A bin whose window ended longer ago than this is a late event: recorded, counted, not folded. */
  late_horizon_ms: number;
  /** A window is final once the wall clock passes its end plus this; one first written after that is written final. */
  grace_ms: number;
  /** Whether this instance runs the analytics; if not, the final windows a transaction writes are left for the one that does. */
  analysesHere(): boolean;
  /**
   * Called with every window row the transaction wrote, and the bins it folded in, after it committed;
   * `left_for_analysis` when its final windows were left for the instance that runs the analytics.
   */
  onWindows(rows: WindowRow[], bins: Bin[], left_for_analysis: boolean): void;
}

export function deadLetter(record: LogRecord, reason: string, field: string | null, now_ms: number): DeadLetter {
  return {
    v: 1,
    received_ms: now_ms,
    stage: 'central',
    reason,
    field,
    source: { transport: 'log', address: `${record.topic}/${record.partition}@${record.offset}`, client_id: null },
    payload_base64: record.value.toString('base64'),
  };
}

/**
 * Log batches of bins (a group, at most one per partition: ./group-commit.ts) in one transaction: each batch's
 * unprocessed records, and each partition's next offset with them.
 */
export async function ingestBins(batches: LogBatch[], consumer: LogConsumer, deps: IngestDeps): Promise<void> {
  const todo: { batch: LogBatch; next: number; reset: boolean }[] = [];
  const bins: Bin[] = [];
  const dead: DeadLetter[] = [];
  const now = deps.clock.now();
  const time = { now_ms: now, closed_through_ms: now - deps.grace_ms };
  for (const batch of batches) {
    const unprocessed = await deps.positions.unprocessed(batch, consumer);
    if (unprocessed === null || unprocessed.records.length === 0) continue;
    const { records, reset } = unprocessed;
    for (const r of records) {
      const d = binsOfRecord(r);
      if (d.ok) for (const b of d.bins) bins.push(b);
      else dead.push(deadLetter(r, d.error.message, d.error.field, now));
    }
    todo.push({ batch, next: records[records.length - 1]!.offset + 1, reset });
  }
  if (todo.length === 0) return;

  const transaction = deps.metrics.ingestTransactionSeconds.startTimer();
  const { fresh, late, recordedLate, rows, rememberDetectors, left } = await deps.store.transaction(async (tx) => {
    // The writes nothing in the transaction reads back (the dedupe record's new runs, the recent bins, the
    // detectors' progress, the offsets) go with the window write, in one statement (CombinedWrites).
    const side = new CombinedWrites(tx);
    const fresh = await deps.store.claimBins(tx, bins, side);
    const { timely, late } = splitLate(fresh, now, deps.late_horizon_ms);
    await deps.store.keepRecentBins(side, timely, ROLLING_SPAN_MS);
    const rememberDetectors = await deps.store.observeDetectors(side, fresh, now);
    await deps.store.saveOffsets(side, deps.group_id, todo.map(({ batch, next, reset }) => ({ topic: batch.topic, partition: batch.partition, next_offset: next, reset })), now);
    const recordedLate = await deps.store.addLateEvents(tx, late, now);
    const refs = windowRefsOf(timely);
    const rows = await deps.store.updateWindows(tx, refs, (stored) => foldBins(stored, timely, time), side);
    // Decided once: the windows are analysed here after the commit, or left in the transaction, never both.
    const left = !deps.analysesHere();
    if (left) await deps.store.leaveForAnalysis(side, rows.filter((r) => r.state !== 'provisional'));
    const corridors = await foldCorridors(tx, timely, deps, time, side);
    await deps.store.addDeadLetters(tx, dead);
    await side.flush(); // what had no window write to go with (no timely bins)
    return { fresh, late, recordedLate, rows: [...rows, ...corridors], rememberDetectors, left };
  });
  transaction();
  rememberDetectors();

  for (const { batch, next } of todo) deps.positions.advanced(batch, next);
  deps.onWindows(rows, fresh, left);
  await Promise.all(todo.map(({ batch, next }) => commitToLog(consumer, batch, next, deps)));
  deps.metrics.bins.inc({ result: 'stored' }, fresh.length - late.length);
  deps.metrics.bins.inc({ result: 'late' }, recordedLate);
  // Duplicates: redelivered bins, and late ones recorded before (the dedupe record forgets bins that old).
  deps.metrics.bins.inc({ result: 'duplicate' }, bins.length - fresh.length + late.length - recordedLate);
  deps.metrics.bins.inc({ result: 'invalid' }, dead.length);
  for (const { batch, next } of todo) deps.metrics.lag.set({ topic: batch.topic, partition: String(batch.partition) }, Math.max(0, batch.high_watermark - next));
}

/**
 * The log's committed offset is for monitoring and for where a new member starts reading; the position that
 * counts is in PostgreSQL, already committed. So a failed log commit (a rebalance in progress) is a warning.
 */
export async function commitToLog(consumer: LogConsumer, batch: LogBatch, next: number, deps: ConsumeContext): Promise<void> {
  try {
    await consumer.commit(batch, next);
  } catch (err) {
    deps.metrics.batchErrors.inc({ topic: batch.topic });
    deps.onCommitError?.(err, batch);
  }
}

/** Bins still inside their window's late horizon, and the rest with how late they are. */
export function splitLate(bins: Bin[], now_ms: number, horizon_ms: number): { timely: Bin[]; late: { bin: Bin; window_start_ms: number; lateness_ms: number }[] } {
  const timely: Bin[] = [];
  const late: { bin: Bin; window_start_ms: number; lateness_ms: number }[] = [];
  for (const bin of bins) {
    const window_start_ms = windowStartOfBin(bin.bin_start_ms, bin.bin_ms);
    const lateness_ms = now_ms - (window_start_ms + WINDOW_MS);
    if (lateness_ms > horizon_ms) late.push({ bin, window_start_ms, lateness_ms });
    else timely.push(bin);
  }
  return { timely, late };
}

/**
 * The corridor windows of these bins, folded after their stations'. A corridor's stations sit on different
 * partitions, so several instances may fold into one corridor window at once; a transaction-scoped advisory lock
 * per corridor window makes them take turns (in key order: no deadlock), and the row is read only once the lock is
 * held, so each sees what the one before committed, including a row it inserted.
 */
async function foldCorridors(tx: Parameters<Parameters<Store['transaction']>[0]>[0], bins: Bin[], deps: IngestDeps, time: FoldTime, side: CombinedWrites): Promise<WindowRow[]> {
  const corridorOf: CorridorOf = (station_id) => deps.stations.get(station_id)?.corridor_id;
  const refs = corridorRefsOf(bins, corridorOf);
  if (refs.length === 0) return [];
  const ordered = inKeyOrder(refs);
  await deps.store.lockCorridors(tx, ordered);
  return deps.store.updateWindows(tx, ordered, (stored) => foldCorridorBins(stored, bins, corridorOf, time), side);
}
