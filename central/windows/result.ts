/** A stored window row as the protocol's window result: summary, congestion and level of service. */
import { summarise, type Station, type WindowResult } from '../../protocol/index.ts';
import { congestionOf, levelOfService } from '../classify/congestion.ts';
import type { WindowRow } from '../store/rows.ts';

/** Free-flow speed and kind for a window's key; corridors use their stations' mean free-flow speed. */
export type StationLookup = (level: WindowRow['level'], key: string) => Pick<Station, 'kind' | 'lanes' | 'free_flow_kmh'> | null;

/** Free-flow speed for a key with no station behind it (a detector no bin or inventory has placed) and nothing learned. */
export const FALLBACK_FREE_FLOW_KMH = 100;

export function toWindowResult(row: WindowRow, lookup: StationLookup): WindowResult {
  const s = summarise(row.measures);
  const station = lookup(row.level, row.key);
  const observed = row.measures.samples_seen > 0;
  return {
    v: 1,
    level: row.level,
    key: row.key,
    window_start_ms: row.window_start_ms,
    window_end_ms: row.window_end_ms,
    revision: row.revision,
    state: row.state,
    status: observed ? 'ok' : 'no_data',
    volume: s.volume,
    occupancy_pct: s.occupancy_pct,
    speed_kmh: s.speed_kmh,
    speed_min_kmh: s.speed_min_kmh,
    speed_max_kmh: s.speed_max_kmh,
    observed_fraction: s.observed_fraction,
    congestion: observed ? congestionOf(s, station?.free_flow_kmh ?? FALLBACK_FREE_FLOW_KMH) : 'unknown',
    los: observed && station && row.level === 'station' ? levelOfService(s, station, row.window_end_ms - row.window_start_ms) : null,
    clock_untrusted: row.clock_untrusted,
    measures: row.measures,
  };
}

/** Each corridor's stations, in inventory order. */
function corridorsOf(stations: Iterable<Station>): Map<string, Station[]> {
  const corridors = new Map<string, Station[]>();
  for (const s of stations) {
    if (s.corridor_id === null) continue;
    const members = corridors.get(s.corridor_id);
    if (members) members.push(s);
    else corridors.set(s.corridor_id, [s]);
  }
  return corridors;
}

/**
 * Lookups over an inventory: stations with their learned free-flow speed where there is one (else the
 * configured), detectors as their station, corridors by their stations' mean.
 */
export function stationLookup(
  stations: ReadonlyMap<string, Station>,
  learned: ReadonlyMap<string, number> = new Map(),
  stationOfDetector: (detector_id: string) => string | undefined = () => undefined,
): StationLookup {
  const freeFlow = (s: Station) => learned.get(s.station_id) ?? s.free_flow_kmh;
  const corridors = corridorsOf(stations.values());
  const station = (station_id: string | undefined) => {
    const s = station_id === undefined ? undefined : stations.get(station_id);
    return s ? { ...s, free_flow_kmh: freeFlow(s) } : null;
  };
  return (level, key) => {
    if (level === 'station') return station(key);
    // A lane runs at its station's free-flow speed: an arterial's detectors are not congested at its limit.
    if (level === 'detector') return station(stationOfDetector(key));
    const members = corridors.get(key);
    if (!members) return null;
    const free_flow_kmh = members.reduce((a, s) => a + freeFlow(s), 0) / members.length;
    return { kind: members[0]!.kind, lanes: members[0]!.lanes, free_flow_kmh };
  };
}
