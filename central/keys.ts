/**
 * What central knows about where a key belongs: each detector's station (from the detectors table at start,
 * and from every bin stored since), and each station's free-flow speed as analytics learned it. Results travel
 * keyed by station, and congestion is judged against the station's free-flow speed.
 */
import type { Station, WindowResult } from '../protocol/index.ts';
import { stationLookup, type StationLookup } from './windows/result.ts';

export class StationIndex {
  readonly stations: ReadonlyMap<string, Station>;
  /** Turns a stored window into its result, with its station's (learned) free-flow speed. */
  readonly lookup: StationLookup;
  private readonly detectorStation = new Map<string, string>();
  private readonly learnedFreeFlow = new Map<string, number>();

  constructor(stations: readonly Station[]) {
    this.stations = new Map(stations.map((s) => [s.station_id, s]));
    this.lookup = stationLookup(this.stations, this.learnedFreeFlow, (detector_id) => this.detectorStation.get(detector_id));
  }

  /** Detectors and their stations: rows of the detectors table, or bins. */
  learnDetectors(pairs: Iterable<{ detector_id: string; station_id: string }>): void {
    for (const d of pairs) this.detectorStation.set(d.detector_id, d.station_id);
  }

  /** A detector's station; any other key is its own. */
  stationOf(key: string): string {
    return this.detectorStation.get(key) ?? key;
  }

  /** The key a window result travels under on the log: its station (a corridor's own id for corridors). */
  logKey(w: WindowResult): string {
    return w.level === 'detector' ? this.stationOf(w.key) : w.key;
  }

  setLearnedFreeFlow(learned: ReadonlyMap<string, number>): void {
    this.learnedFreeFlow.clear();
    for (const [k, v] of learned) this.learnedFreeFlow.set(k, v);
  }
}
