/**
 * Offline replay: recorded samples through the same edge binning and central window code as the live system,
 * to final windows. Pure: the CLI (`wacoflow replay`) reads and writes the files.
 *
 * Every detector in the input gets bins for every slot from the start of the first window to the end of the last
 * one its group covers, so gaps and ragged edges show as a lower observed fraction, as they would live.
 */
import { aggregateSamples, alignDown, nests, WINDOW_MS, type Bin, type Sample, type Station, type WindowResult } from '../protocol/index.ts';
import { windowRefKey, type WindowRow } from './store/rows.ts';
import { corridorRow, foldBins } from './windows/fold.ts';
import { stationLookup, toWindowResult } from './windows/result.ts';

export interface ReplayOptions {
  bin_ms: number;
  /** Inventory: corridors and free-flow speeds. Without it there are no corridor windows and no LOS. */
  stations?: Station[];
}

/** One output line: the fields the replay format promises, plus `final`. */
export type ReplayWindow = Pick<
  WindowResult,
  'level' | 'key' | 'window_start_ms' | 'window_end_ms' | 'volume' | 'occupancy_pct' | 'speed_kmh' | 'speed_min_kmh' | 'speed_max_kmh' | 'observed_fraction' | 'congestion' | 'los' | 'revision'
> & { final: true };

export function replayBins(samples: Sample[], bin_ms: number): Bin[] {
  if (!nests(bin_ms)) throw new RangeError(`a ${bin_ms / 1000} s bin does not divide the 5-minute window`);
  // Sources with different cadences expect different sample counts per bin: aggregate each cadence on its own.
  const byCadence = new Map<number, Sample[]>();
  for (const s of samples) byCadence.set(s.duration_ms, [...(byCadence.get(s.duration_ms) ?? []), s]);
  const bins: Bin[] = [];
  let seq = 0;
  for (const [cadence, group] of byCadence) {
    const detectors = new Map(group.map((s) => [s.detector_id, s.station_id]));
    const from_ms = alignDown(Math.min(...group.map((s) => s.start_ms)), WINDOW_MS);
    const to_ms = alignDown(Math.max(...group.map((s) => s.start_ms)), WINDOW_MS) + WINDOW_MS;
    for (const slot of aggregateSamples(group, bin_ms, cadence, { detectors, from_ms, to_ms })) {
      bins.push({
        device_id: 'replay', seq: ++seq, detector_id: slot.detector_id, station_id: slot.station_id, bin_start_ms: slot.slot_start_ms, bin_ms,
        clock: { synced: true, offset_ms: 0 }, measures: slot.measures,
      });
    }
  }
  return bins;
}

export function replayWindows(samples: Sample[], options: ReplayOptions): ReplayWindow[] {
  const stations = new Map((options.stations ?? []).map((s) => [s.station_id, s]));
  const rows = foldBins(new Map(), replayBins(samples, options.bin_ms), { now_ms: 0 });
  const corridors = new Map<string, WindowRow[]>();
  for (const r of rows) {
    const corridor = r.level === 'station' ? stations.get(r.key)?.corridor_id : null;
    if (!corridor) continue;
    const k = windowRefKey({ level: 'corridor', key: corridor, window_start_ms: r.window_start_ms });
    corridors.set(k, [...(corridors.get(k) ?? []), r]);
  }
  for (const members of corridors.values()) {
    const { window_start_ms } = members[0]!;
    rows.push(corridorRow(stations.get(members[0]!.key)!.corridor_id!, window_start_ms, members, undefined, { now_ms: 0 }));
  }
  const detectorStation = new Map(samples.map((s) => [s.detector_id, s.station_id]));
  const lookup = stationLookup(stations, new Map(), (detector_id) => detectorStation.get(detector_id));
  const order = { detector: 0, station: 1, corridor: 2 } as const;
  return rows
    .map((r) => toWindowResult({ ...r, state: 'final' }, lookup))
    .sort((a, b) => a.window_start_ms - b.window_start_ms || order[a.level] - order[b.level] || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
    .map((w) => ({
      level: w.level, key: w.key, window_start_ms: w.window_start_ms, window_end_ms: w.window_end_ms, volume: w.volume, occupancy_pct: w.occupancy_pct,
      speed_kmh: w.speed_kmh, speed_min_kmh: w.speed_min_kmh, speed_max_kmh: w.speed_max_kmh, observed_fraction: w.observed_fraction,
      congestion: w.congestion, los: w.los, revision: w.revision, final: true,
    }));
}
