/**
 * Which station is next downstream of each station. With the corridors' geometry, from it: a corridor's path is
 * its road in travel order, so its stations, each placed at its nearest point along the path, follow one another
 * in the order traffic meets them. A corridor without a path (an inventory file gives none) takes its stations
 * in the order they are listed, which the inventory's convention makes travel order; on the Waco network both
 * give the same 62 pairs. A queue grows upstream from a bottleneck, so a congested station warns the one
 * before it (onset.ts), and a pair's occupancies tell an incident between them (anomaly/incident.ts).
 *
 * Stations without a corridor and the last station of a corridor have no downstream neighbour.
 */
import type { Station } from '../../protocol/index.ts';

export interface CorridorPath {
  corridor_id: string;
  /** [lat, lon] points in travel order. */
  path: ReadonlyArray<readonly [number, number]>;
}

/** Station id → the id of the next station downstream on its corridor. */
export function downstreamNeighbours(stations: Iterable<Station>, corridors: readonly CorridorPath[]): Map<string, string> {
  const paths = new Map(corridors.filter((c) => c.path.length >= 2).map((c) => [c.corridor_id, c.path]));
  const byCorridor = new Map<string, { station_id: string; along: number }[]>();
  let listed = 0;
  for (const s of stations) {
    if (s.corridor_id === null) continue;
    const path = paths.get(s.corridor_id);
    const list = byCorridor.get(s.corridor_id) ?? [];
    list.push({ station_id: s.station_id, along: path ? positionAlong(path, s.lat, s.lon) : listed });
    listed += 1;
    byCorridor.set(s.corridor_id, list);
  }
  const out = new Map<string, string>();
  for (const list of byCorridor.values()) {
    list.sort((a, b) => a.along - b.along || a.station_id.localeCompare(b.station_id));
    for (let i = 0; i + 1 < list.length; i++) out.set(list[i]!.station_id, list[i + 1]!.station_id);
  }
  return out;
}

/**
 * Distance along the path (in degrees, scaled for longitude at the path's latitude: only the order matters) of
 * the point on it nearest to (lat, lon).
 */
export function positionAlong(path: ReadonlyArray<readonly [number, number]>, lat: number, lon: number): number {
  const k = Math.cos((path[0]![0] * Math.PI) / 180);
  let best = { d2: Infinity, along: 0 };
  let walked = 0;
  for (let i = 0; i + 1 < path.length; i++) {
    const [ay, ax] = [path[i]![0], path[i]![1] * k];
    const [by, bx] = [path[i + 1]![0], path[i + 1]![1] * k];
    const [py, px] = [lat, lon * k];
    const len2 = (bx - ax) ** 2 + (by - ay) ** 2;
    const t = len2 === 0 ? 0 : Math.max(0, Math.min(1, ((px - ax) * (bx - ax) + (py - ay) * (by - ay)) / len2));
    const d2 = (ax + t * (bx - ax) - px) ** 2 + (ay + t * (by - ay) - py) ** 2;
    const len = Math.sqrt(len2);
    if (d2 < best.d2) best = { d2, along: walked + t * len };
    walked += len;
  }
  return best.along;
}
