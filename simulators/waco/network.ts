/**
 * The simulated Waco network, read from `network.yaml` (the data, with where its coordinates come from) and
 * expanded into what the rest of the system uses: protocol stations per road direction, corridors in travel
 * order with each station's distance along them, signalised intersections with one station per approach, and
 * the simulated devices (inputs) that serve them.
 */
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { Id, StationSchema, type Station } from '../../protocol/index.ts';

const LatLon = z.tuple([z.number().min(-90).max(90), z.number().min(-180).max(180)]);
const Direction = z.enum(['nb', 'sb', 'eb', 'wb']);
const ApproachName = z.enum(['N', 'S', 'E', 'W']);

const InputSchema = z
  .object({
    name: Id,
    driver: z.enum(['tmdd-http', 'ss105-serial', 'ss125-serial']),
    /** tmdd-http only: the document format the simulated feed serves. */
    dialect: z.enum(['tmdd-3.03', 'iowa-sims']).optional(),
    organization_id: z.string().min(1).optional(),
    agent: Id,
  })
  .strict();

const SiteSchema = z
  .object({ site: Id, name: z.string().min(1), at: LatLon, lanes: z.number().int().min(1).max(8).optional(), posted_kmh: z.number().min(10).max(200).optional() })
  .strict();

const RoadSchema = z
  .object({
    road_id: Id,
    name: z.string().min(1),
    kind: StationSchema.shape.kind,
    directions: z.tuple([Direction, Direction]),
    posted_kmh: z.number().min(10).max(200),
    lanes: z.number().int().min(1).max(8),
    /** Demand relative to the usual load of a road of its class. */
    level: z.number().min(0.05).max(1.5),
    input: Id,
    path: z.array(LatLon).min(2),
    sites: z.array(SiteSchema).min(1),
  })
  .strict();

const IntersectionSchema = z
  .object({
    intersection_id: Id,
    name: z.string().min(1),
    at: LatLon,
    cabinet: Id,
    /** Per approach: the station before the stop line on the same road, or a cross-street demand level. */
    approaches: z.partialRecord(ApproachName, z.union([Id, z.number().min(0.05).max(1.5)])),
  })
  .strict();

const NetworkFileSchema = z
  .object({
    inputs: z.array(InputSchema).min(1),
    roads: z.array(RoadSchema).min(1),
    intersections: z.array(IntersectionSchema),
    places: z
      .object({
        mclane_stadium: z
          .object({ name: z.string(), at: LatLon, capacity_seats: z.number().int().positive(), gates: z.array(Id).min(1), gate_capacity_factor: z.number().gt(0).max(1) })
          .strict(),
      })
      .strict(),
  })
  .strict();

export type SimInput = z.infer<typeof InputSchema>;
export type Direction = z.infer<typeof Direction>;
export type Approach = z.infer<typeof ApproachName>;

/** A road station with where it sits: its road, direction and distance along its corridor in travel order. */
export interface RoadStation extends Station {
  road_id: string;
  direction: Direction;
  /** The simulated device (input name) that reports it. */
  input: string;
  /** Kilometres from the corridor's first point, in the direction of travel. */
  km: number;
  /** Demand relative to the road class's usual load. */
  level: number;
}

export interface Corridor {
  corridor_id: string;
  road_id: string;
  name: string;
  direction: Direction;
  /** The road's alignment in travel order, [lat, lon]. */
  path: [number, number][];
  /** Its stations in travel order. */
  station_ids: string[];
}

export interface IntersectionApproach {
  approach: Approach;
  /** The approach's own station (a camera reports it): `<intersection>-<approach>`. */
  station_id: string;
  /** The road station just upstream of the stop line whose vehicles this approach counts, if any. */
  linked_station_id: string | null;
  /** Cross-street demand level, for approaches without a linked station. */
  level: number;
}

export interface Intersection {
  intersection_id: string;
  name: string;
  lat: number;
  lon: number;
  /** The edge agent its camera is read by. */
  cabinet: string;
  approaches: IntersectionApproach[];
}

export interface WacoNetwork {
  inputs: SimInput[];
  /** Road stations (mainline and arterial detectors), in file order, direction by direction. */
  stations: RoadStation[];
  corridors: Corridor[];
  intersections: Intersection[];
  /** One station per intersection approach, as the camera reports them. */
  approachStations: Station[];
  /** The stadium, and the stations at its entrances whose capacity falls to `gate_capacity_factor` before a game. */
  stadium: { name: string; lat: number; lon: number; capacity_seats: number; gates: string[]; gate_capacity_factor: number };
}

/** Camera movements: left, through, right. */
export const MOVEMENTS = ['L', 'T', 'R'] as const;
const APPROACH_SPEED_KMH = 56;
const BOUND: Record<Approach, string> = { N: 'southbound', S: 'northbound', E: 'westbound', W: 'eastbound' };

/** Great-circle distance in km (haversine). */
export function distanceKm(a: readonly [number, number], b: readonly [number, number]): number {
  const rad = Math.PI / 180;
  const dLat = (b[0] - a[0]) * rad;
  const dLon = (b[1] - a[1]) * rad;
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(a[0] * rad) * Math.cos(b[0] * rad) * Math.sin(dLon / 2) ** 2;
  return 2 * 6371 * Math.asin(Math.sqrt(h));
}

/** Distance along a path to the path point nearest `p` (sites sit on or next to the drawn alignment). */
function kmAlong(path: [number, number][], p: [number, number]): number {
  let best = Infinity;
  let bestKm = 0;
  let km = 0;
  for (let i = 0; i < path.length; i++) {
    if (i > 0) km += distanceKm(path[i - 1]!, path[i]!);
    const d = distanceKm(path[i]!, p);
    if (d < best) [best, bestKm] = [d, km];
  }
  return bestKm;
}

export function parseNetwork(text: string, file: string): WacoNetwork {
  const r = NetworkFileSchema.safeParse(parseYaml(text));
  if (!r.success) {
    const issue = r.error.issues[0]!;
    throw new Error(`${file}: ${issue.path.join('.') || '(top level)'}: ${issue.message}`);
  }
  const data = r.data;
  const inputNames = new Set(data.inputs.map((i) => i.name));
  const stations: RoadStation[] = [];
  const corridors: Corridor[] = [];
  for (const road of data.roads) {
    if (!inputNames.has(road.input)) throw new Error(`${file}: road ${road.road_id}: input "${road.input}" is not one of inputs: ${[...inputNames].join(', ')}`);
    road.directions.forEach((direction, d) => {
      const path = d === 0 ? road.path : [...road.path].reverse();
      const corridor_id = `${road.road_id}-${direction}`;
      const members = road.sites
        .map((site): RoadStation => ({
          station_id: `${road.road_id}-${direction}-${site.site}`,
          name: `${road.name} ${direction.toUpperCase()} at ${site.name}`,
          kind: road.kind,
          corridor_id,
          lat: site.at[0],
          lon: site.at[1],
          lanes: site.lanes ?? road.lanes,
          free_flow_kmh: site.posted_kmh ?? road.posted_kmh,
          road_id: road.road_id,
          direction,
          input: road.input,
          km: kmAlong(path, site.at),
          level: road.level,
        }))
        .sort((a, b) => a.km - b.km);
      stations.push(...members);
      corridors.push({ corridor_id, road_id: road.road_id, name: `${road.name} ${direction.toUpperCase()}`, direction, path, station_ids: members.map((s) => s.station_id) });
    });
  }
  const byId = new Map(stations.map((s) => [s.station_id, s]));
  if (byId.size !== stations.length) throw new Error(`${file}: two sites on one road share a name`);

  const approachStations: Station[] = [];
  const intersections = data.intersections.map((x): Intersection => {
    const approaches = Object.entries(x.approaches).map(([approach, v]): IntersectionApproach => {
      const linked = typeof v === 'string' ? byId.get(v) : undefined;
      if (typeof v === 'string' && !linked) throw new Error(`${file}: intersection ${x.intersection_id}: approach ${approach} names station "${v}", which no road site generates`);
      const station_id = `${x.intersection_id}-${approach}`;
      approachStations.push({
        station_id,
        name: `${x.name}, ${BOUND[approach as Approach]} approach`,
        kind: 'intersection',
        corridor_id: linked?.corridor_id ?? null,
        lat: x.at[0],
        lon: x.at[1],
        lanes: linked?.lanes ?? 1,
        free_flow_kmh: linked?.free_flow_kmh ?? APPROACH_SPEED_KMH,
      });
      return { approach: approach as Approach, station_id, linked_station_id: linked?.station_id ?? null, level: typeof v === 'number' ? v : linked!.level };
    });
    return { intersection_id: x.intersection_id, name: x.name, lat: x.at[0], lon: x.at[1], cabinet: x.cabinet, approaches };
  });
  const s = data.places.mclane_stadium;
  for (const gate of s.gates) if (!byId.has(gate)) throw new Error(`${file}: places.mclane_stadium.gates names station "${gate}", which no road site generates`);
  const stadium = { name: s.name, lat: s.at[0], lon: s.at[1], capacity_seats: s.capacity_seats, gates: s.gates, gate_capacity_factor: s.gate_capacity_factor };
  return { inputs: data.inputs, stations, corridors, intersections, approachStations, stadium };
}

export const NETWORK_FILE = new URL('./network.yaml', import.meta.url);

let cached: WacoNetwork | null = null;

/** The network kept in the repository (read once). */
export function wacoNetwork(): WacoNetwork {
  cached ??= parseNetwork(readFileSync(NETWORK_FILE, 'utf8'), 'simulators/waco/network.yaml');
  return cached;
}

/** Plain protocol stations (what central's inventory holds), without the simulator's extra fields. */
export function asStation(s: RoadStation): Station {
  const { road_id: _r, direction: _d, input: _i, km: _k, level: _l, ...station } = s;
  return station;
}
