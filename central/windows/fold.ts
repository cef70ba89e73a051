/**
 * Folding bins into windows: pure. Given the current rows of the windows a batch touches, returns the rows as
 * they must be written. Every level merges bins incrementally: a window's measures are sums, minima and maxima
 * of its bins', so a corridor window is the merge of its stations' bins as much as of their windows. Detector and
 * station windows have one writer (a station's bins all arrive on one partition); a corridor's stations sit on
 * several, so its windows are folded separately (`foldCorridorBins`), under a lock per corridor window that
 * makes the partitions' transactions take turns on it (bin-ingest.ts).
 *
 * A window is final once the wall clock passes its end plus the grace period. One first written after that (a
 * backlog after an outage, a central that was down) is written final at once, as a finalisation pass would have
 * made it a moment later: a backlog's windows then cost one write and one result each instead of a write now,
 * an update in the pass and a result from each. A window that was already final takes a late bin as a
 * revision: state `revised`, revision + 1 (once per batch), and it is written and re-emitted. A provisional
 * window past its deadline stays provisional until the pass, which finalises it within a pass's time.
 */
import { expecting, mergeAll, mergeInto, windowStartOfBin, WINDOW_MS, type Bin, type WindowLevel } from '../../protocol/index.ts';
import { windowRefKey, type WindowRef, type WindowRow } from '../store/rows.ts';

/**
 * A batch's windows by level, key and start, each made once, in the order first seen: found again through a map
 * per level and key rather than a key string composed per bin (the fold is central's hot path).
 */
class BatchWindows<T> {
  readonly made: T[] = [];
  private readonly index = new Map<WindowLevel, Map<string, Map<number, T>>>();
  private readonly make: (ref: WindowRef) => T;
  constructor(make: (ref: WindowRef) => T) {
    this.make = make;
  }

  at(level: WindowLevel, key: string, window_start_ms: number): T {
    let byKey = this.index.get(level);
    if (!byKey) this.index.set(level, (byKey = new Map()));
    let byStart = byKey.get(key);
    if (!byStart) byKey.set(key, (byStart = new Map()));
    let value = byStart.get(window_start_ms);
    if (value === undefined) {
      value = this.make({ level, key, window_start_ms });
      byStart.set(window_start_ms, value);
      this.made.push(value);
    }
    return value;
  }
}

/** A station's corridor, if it lies on one. */
export type CorridorOf = (station_id: string) => string | null | undefined;

/** The detector and station windows these bins land in, each once. */
export function windowRefsOf(bins: readonly Bin[]): WindowRef[] {
  const refs = new BatchWindows((ref) => ref);
  for (const bin of bins) {
    const start = windowStartOfBin(bin.bin_start_ms, bin.bin_ms);
    refs.at('detector', bin.detector_id, start);
    refs.at('station', bin.station_id, start);
  }
  return refs.made;
}

/** The corridor windows these bins land in, each once. */
export function corridorRefsOf(bins: readonly Bin[], corridorOf: CorridorOf): WindowRef[] {
  const refs = new BatchWindows((ref) => ref);
  for (const bin of bins) {
    const corridor = corridorOf(bin.station_id);
    if (corridor) refs.at('corridor', corridor, windowStartOfBin(bin.bin_start_ms, bin.bin_ms));
  }
  return refs.made;
}

/**
 * When a fold happens: `now_ms`, and `closed_through_ms`, now minus the grace period. A window ending at or
 * before `closed_through_ms` is past its deadline. Without it (replays, tests of the sums) none is.
 */
export interface FoldTime {
  now_ms: number;
  closed_through_ms?: number;
}

function newRow(ref: WindowRef, { now_ms, closed_through_ms = -Infinity }: FoldTime): WindowRow {
  const window_end_ms = ref.window_start_ms + WINDOW_MS;
  return {
    level: ref.level,
    key: ref.key,
    window_start_ms: ref.window_start_ms,
    window_end_ms,
    revision: 0,
    state: window_end_ms <= closed_through_ms ? 'final' : 'provisional',
    clock_untrusted: false,
    measures: expecting(0),
    updated_ms: now_ms,
  };
}

/** Marks a row as changed: a final window becomes a revision (once per fold). */
function touch(row: WindowRow, bumped: Set<string>, now_ms: number): WindowRow {
  const k = windowRefKey(row);
  if (row.state !== 'provisional' && !bumped.has(k)) {
    bumped.add(k);
    return { ...row, state: 'revised', revision: row.revision + 1, updated_ms: now_ms };
  }
  return { ...row, updated_ms: now_ms };
}

/**
 * The rows of one fold: each stored row copied once (a final one becomes a revision, once per fold) and then
 * merged into in place; a window not stored yet starts empty.
 */
function foldRows(current: ReadonlyMap<string, WindowRow>, time: FoldTime): BatchWindows<WindowRow> {
  const bumped = new Set<string>();
  return new BatchWindows((ref) => {
    const stored = current.get(windowRefKey(ref));
    const row = stored ? touch(stored, bumped, time.now_ms) : newRow(ref, time);
    row.measures = { ...row.measures };
    return row;
  });
}

function mergeBin(row: WindowRow, bin: Bin): void {
  mergeInto(row.measures, bin.measures);
  if (!bin.clock.synced) row.clock_untrusted = true;
}

/** The detector and station windows these bins land in, as they must be written. */
export function foldBins(current: ReadonlyMap<string, WindowRow>, bins: Bin[], time: FoldTime): WindowRow[] {
  const rows = foldRows(current, time);
  for (const bin of bins) {
    const start = windowStartOfBin(bin.bin_start_ms, bin.bin_ms);
    mergeBin(rows.at('detector', bin.detector_id, start), bin);
    mergeBin(rows.at('station', bin.station_id, start), bin);
  }
  return rows.made;
}

/**
 * The corridor windows these bins land in, as foldBins does for detectors and stations. `corridorOf` names a
 * station's corridor; bins of stations on none are skipped. The caller holds the corridor windows' locks: two
 * partitions' bins may land in one corridor window.
 */
export function foldCorridorBins(current: ReadonlyMap<string, WindowRow>, bins: readonly Bin[], corridorOf: CorridorOf, time: FoldTime): WindowRow[] {
  const rows = foldRows(current, time);
  for (const bin of bins) {
    const corridor = corridorOf(bin.station_id);
    if (corridor) mergeBin(rows.at('corridor', corridor, windowStartOfBin(bin.bin_start_ms, bin.bin_ms)), bin);
  }
  return rows.made;
}

/** A corridor window recomputed from all its station windows (replays); revision bumps if it was already final. */
export function corridorRow(
  corridor_id: string,
  window_start_ms: number,
  stationRows: WindowRow[],
  existing: WindowRow | undefined,
  time: FoldTime,
): WindowRow {
  const row = existing ? touch(existing, new Set(), time.now_ms) : newRow({ level: 'corridor', key: corridor_id, window_start_ms }, time);
  row.measures = mergeAll(stationRows.map((r) => r.measures));
  row.clock_untrusted = stationRows.some((r) => r.clock_untrusted);
  return row;
}
