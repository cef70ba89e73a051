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
import { expecting, mergeAll, mergeInto, windowStartOfBin, WINDOW_MS, type Bin } from '../../protocol/index.ts';
import { windowRefKey, type WindowRef, type WindowRow } from '../store/rows.ts';

/** The detector and station windows these bins land in, each once (found by level, key and start: no key text per bin). */
export function windowRefsOf(bins: readonly Bin[]): WindowRef[] {
  const refs: WindowRef[] = [];
  const seen = { detector: new Map<string, Set<number>>(), station: new Map<string, Set<number>>() };
  const add = (level: 'detector' | 'station', key: string, window_start_ms: number): void => {
    let starts = seen[level].get(key);
    if (!starts) seen[level].set(key, (starts = new Set()));
    if (starts.has(window_start_ms)) return;
    starts.add(window_start_ms);
    refs.push({ level, key, window_start_ms });
  };
  for (const bin of bins) {
    const window_start_ms = windowStartOfBin(bin.bin_start_ms, bin.bin_ms);
    add('detector', bin.detector_id, window_start_ms);
    add('station', bin.station_id, window_start_ms);
  }
  return refs;
}

/** The corridor windows these bins land in, each once, as windowRefsOf finds a batch's detector and station windows. */
export function corridorRefsOf(bins: readonly Bin[], corridorOf: (station_id: string) => string | null | undefined): WindowRef[] {
  const refs: WindowRef[] = [];
  const seen = new Map<string, Set<number>>();
  for (const bin of bins) {
    const corridor = corridorOf(bin.station_id);
    if (!corridor) continue;
    const window_start_ms = windowStartOfBin(bin.bin_start_ms, bin.bin_ms);
    let starts = seen.get(corridor);
    if (!starts) seen.set(corridor, (starts = new Set()));
    if (starts.has(window_start_ms)) continue;
    starts.add(window_start_ms);
    refs.push({ level: 'corridor', key: corridor, window_start_ms });
  }
  return refs;
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

export function foldBins(current: ReadonlyMap<string, WindowRow>, bins: Bin[], time: FoldTime): WindowRow[] {
  const { now_ms } = time;
  // The fold is central's hot path. Rows are copied once per fold (touch) and then merged into in place, and
  // found again through a map per level and key rather than a composed string key per bin.
  const out: WindowRow[] = [];
  const bumped = new Set<string>();
  const index = { detector: new Map<string, Map<number, WindowRow>>(), station: new Map<string, Map<number, WindowRow>>() };
  const rowFor = (level: 'detector' | 'station', key: string, window_start_ms: number): WindowRow => {
    let byStart = index[level].get(key);
    if (!byStart) index[level].set(key, (byStart = new Map()));
    let row = byStart.get(window_start_ms);
    if (!row) {
      const ref: WindowRef = { level, key, window_start_ms };
      const stored = current.get(windowRefKey(ref));
      row = stored ? touch(stored, bumped, now_ms) : newRow(ref, time);
      row.measures = { ...row.measures };
      byStart.set(window_start_ms, row);
      out.push(row);
    }
    return row;
  };
  for (const bin of bins) {
    const start = windowStartOfBin(bin.bin_start_ms, bin.bin_ms);
    for (const row of [rowFor('detector', bin.detector_id, start), rowFor('station', bin.station_id, start)]) {
      mergeInto(row.measures, bin.measures);
      if (!bin.clock.synced) row.clock_untrusted = true;
    }
  }
  return out;
}

/**
 * The corridor windows these bins land in, as foldBins does for detectors and stations: each stored row copied
 * once (a final one becomes a revision) and the bins merged into it. `corridorOf` names a station's corridor;
 * bins of stations on none are skipped. The caller holds the corridor windows' locks: two partitions' bins may
 * land in one corridor window.
 */
export function foldCorridorBins(current: ReadonlyMap<string, WindowRow>, bins: readonly Bin[], corridorOf: (station_id: string) => string | null | undefined, time: FoldTime): WindowRow[] {
  const out: WindowRow[] = [];
  const bumped = new Set<string>();
  const index = new Map<string, Map<number, WindowRow>>();
  for (const bin of bins) {
    const corridor_id = corridorOf(bin.station_id);
    if (!corridor_id) continue;
    const start = windowStartOfBin(bin.bin_start_ms, bin.bin_ms);
    let byStart = index.get(corridor_id);
    if (!byStart) index.set(corridor_id, (byStart = new Map()));
    let row = byStart.get(start);
    if (!row) {
      const ref: WindowRef = { level: 'corridor', key: corridor_id, window_start_ms: start };
      const stored = current.get(windowRefKey(ref));
      row = stored ? touch(stored, bumped, time.now_ms) : newRow(ref, time);
      row.measures = { ...row.measures };
      byStart.set(start, row);
      out.push(row);
    }
    mergeInto(row.measures, bin.measures);
    if (!bin.clock.synced) row.clock_untrusted = true;
  }
  return out;
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
