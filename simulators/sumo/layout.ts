/**
 * The Waco network laid out for SUMO: the same roads, sites and intersections as network.yaml, expanded into
 * what a microscopic simulator needs. It is a pure function of the network, so the committed net file
 * (`waco.net.xml`, built from it by netconvert) and the run-time detectors and routes always agree.
 *
 * - **Nodes and edges.** Each road is cut at its detector sites; a site is a node, and each direction runs on
 *   its own edge between consecutive nodes, shaped along the road's path. Positions are projected to metres
 *   around a point in central Waco. Interchanges between roads are not modelled: a road's traffic stays on it
 *   unless it turns at a signalised intersection.
 * - **Intersections.** One whose approaches are linked to road stations is a signal at that site's node; its
 *   other approaches are cross-street stubs 300 m long. One without linked approaches stands on its own, with
 *   four stubs. Each approach is counted 30 m before its stop line, where a linked road station's loops are: a
 *   camera's zone right at the stop line would be occupied through every red, and read as a jam.
 * - **Loops.** A road station's loops sit 30 m before its node on the edge that enters it, one per lane. Each
 *   road runs 400 m past its first and last sites (and no further), so every site has an edge entering it
 *   both ways.
 * - **Routes.** Vehicles enter at the start of every road direction and every stub. At each intersection they
 *   turn left, go through or turn right in the cameras' shares, and turn at most once. A turning vehicle's type
 *   names its turn (`t-<intersection>-<approach>-<L|R>`), so loops that count only that type measure the
 *   movement exactly: the counts per movement are SUMO's vehicles, not a split applied afterwards.
 */
import type { Station } from '../../protocol/index.ts';
import { MOVEMENT_SHARES } from '../traffic-model.ts';
import type { Approach, Direction, WacoNetwork } from '../waco/network.ts';

/** The projection's origin: metres east and north of this point. */
const ORIGIN: readonly [number, number] = [31.55, -97.15];
const M_PER_DEG_LAT = 110_574;
const M_PER_DEG_LON = 111_320 * Math.cos((ORIGIN[0] * Math.PI) / 180);
/** Sites closer than this along a road share one node. */
const MERGE_M = 25;
/** Roads run on this far past their first and last sites. */
const LEAD_M = 400;
/** Cross streets are drawn this long from the intersection. */
const STUB_M = 300;
const STUB_SPEED_KMH = 56;
/** A road station's loops sit this far before its node, and an approach's this far before its stop line. */
export const LOOP_BEFORE_M = 30;

type Xy = [number, number];

export interface SumoNode {
  id: string;
  xy: Xy;
  type: 'priority' | 'traffic_light' | 'dead_end';
}

export interface SumoEdge {
  id: string;
  from: string;
  to: string;
  lanes: number;
  speed_kmh: number;
  /** From the `from` node's position to the `to` node's, in metres. */
  shape: Xy[];
}

/** Where one station's loops lie: lanes 1…`lanes` of `edge`, shortly before the node it enters. */
export interface LoopPlace {
  station_id: string;
  edge: string;
  lanes: number;
}

/** One approach of a signalised intersection: the edge into the stop line, and the camera station counting it. */
export interface ApproachArm {
  intersection_id: string;
  approach: Approach;
  station_id: string;
  in_edge: string;
  out_edge: string;
  lanes: number;
}

/** Where vehicles come from: the start of a road direction or of a cross-street stub. */
export interface Entry {
  id: string;
  edge: string;
  lanes: number;
  /** Demand relative to the road class's usual load, as in network.yaml. */
  level: number;
  kind: Station['kind'];
}

export interface Route {
  id: string;
  entry: string;
  edges: string[];
  /** Share of the entry's vehicles that take this route. */
  share: number;
  /** `t-<intersection>-<approach>-<L|R>` for the route's one turn; `car` when it turns nowhere. */
  vtype: string;
}

export interface SumoLayout {
  nodes: SumoNode[];
  edges: SumoEdge[];
  stations: LoopPlace[];
  arms: ApproachArm[];
  entries: Entry[];
  routes: Route[];
}

/** Where a vehicle arriving from `from` leaves for each movement. */
const TURNS: Record<Approach, Record<'L' | 'T' | 'R', Approach>> = {
  N: { L: 'E', T: 'S', R: 'W' },
  S: { L: 'W', T: 'N', R: 'E' },
  E: { L: 'S', T: 'W', R: 'N' },
  W: { L: 'N', T: 'E', R: 'S' },
};
const COMPASS: Record<Approach, Xy> = { N: [0, 1], S: [0, -1], E: [1, 0], W: [-1, 0] };
const SHARE = { L: MOVEMENT_SHARES[0], T: MOVEMENT_SHARES[1], R: MOVEMENT_SHARES[2] };

export function project([lat, lon]: readonly [number, number]): Xy {
  return [round((lon - ORIGIN[1]) * M_PER_DEG_LON), round((lat - ORIGIN[0]) * M_PER_DEG_LAT)];
}

function round(v: number): number {
  return Math.round(v * 100) / 100;
}

const dist = (a: Xy, b: Xy): number => Math.hypot(b[0] - a[0], b[1] - a[1]);

/** Distance along a polyline to the point on it nearest `p`. */
function along(path: Xy[], p: Xy): number {
  let best = Infinity;
  let bestAt = 0;
  let start = 0;
  for (let i = 1; i < path.length; i++) {
    const [a, b] = [path[i - 1]!, path[i]!];
    const len = dist(a, b);
    const t = len === 0 ? 0 : Math.max(0, Math.min(1, ((p[0] - a[0]) * (b[0] - a[0]) + (p[1] - a[1]) * (b[1] - a[1])) / len ** 2));
    const d = dist(p, [a[0] + t * (b[0] - a[0]), a[1] + t * (b[1] - a[1])]);
    if (d < best) [best, bestAt] = [d, start + t * len];
    start += len;
  }
  return bestAt;
}

/** The point `d` metres along a polyline. */
function pointAt(path: Xy[], d: number): Xy {
  let start = 0;
  for (let i = 1; i < path.length; i++) {
    const [a, b] = [path[i - 1]!, path[i]!];
    const len = dist(a, b);
    if (d <= start + len || i === path.length - 1) {
      const t = len === 0 ? 0 : Math.max(0, Math.min(1, (d - start) / len));
      return [round(a[0] + t * (b[0] - a[0])), round(a[1] + t * (b[1] - a[1]))];
    }
    start += len;
  }
  return path[0]!;
}

/** A road's path carried on past both ends, so that vehicles enter before its first site and leave after its last. */
function extend(path: Xy[]): Xy[] {
  const beyond = (end: Xy, before: Xy): Xy => {
    const len = dist(before, end) || 1;
    return [round(end[0] + ((end[0] - before[0]) / len) * LEAD_M), round(end[1] + ((end[1] - before[1]) / len) * LEAD_M)];
  };
  return [beyond(path[0]!, path[1]!), ...path, beyond(path.at(-1)!, path.at(-2)!)];
}

/** The polyline between two distances along it, both ends included. */
function slice(path: Xy[], from: number, to: number): Xy[] {
  const out: Xy[] = [pointAt(path, from)];
  let start = 0;
  for (let i = 1; i < path.length; i++) {
    start += dist(path[i - 1]!, path[i]!);
    if (start > from && start < to) out.push(path[i]!);
  }
  out.push(pointAt(path, to));
  return out;
}

interface RoadNode {
  id: string;
  d: number;
  xy: Xy;
  sites: string[];
}

export function sumoLayout(net: WacoNetwork): SumoLayout {
  const nodes: SumoNode[] = [];
  const edges: SumoEdge[] = [];
  const stations: LoopPlace[] = [];
  const arms: ApproachArm[] = [];
  const entries: Entry[] = [];
  const routes: Route[] = [];
  /** Per corridor: its edges in travel order, and the node each ends at. */
  const travel = new Map<string, { edges: string[]; ends: string[] }>();
  /** The node each road station's site became. */
  const siteNode = new Map<string, string>();
  const nodeById = new Map<string, SumoNode>();
  const addNode = (n: SumoNode): void => {
    nodes.push(n);
    nodeById.set(n.id, n);
  };

  const roads = new Map<string, { directions: Direction[]; stations: typeof net.stations }>();
  for (const s of net.stations) {
    const r = roads.get(s.road_id) ?? { directions: [], stations: [] };
    if (!r.directions.includes(s.direction)) r.directions.push(s.direction);
    r.stations.push(s);
    roads.set(s.road_id, r);
  }

  for (const [road_id, road] of roads) {
    const [dir0, dir1] = road.directions as [Direction, Direction];
    const corridor = net.corridors.find((c) => c.corridor_id === `${road_id}-${dir0}`)!;
    const path = extend(corridor.path.map(project));
    const length = path.slice(1).reduce((sum, p, i) => sum + dist(path[i]!, p), 0);
    const roadNodes: RoadNode[] = [];
    for (const s of road.stations.filter((x) => x.direction === dir0)) {
      const site = s.station_id.slice(`${road_id}-${dir0}-`.length);
      const d = along(path, project([s.lat, s.lon]));
      let node = roadNodes.find((n) => Math.abs(n.d - d) < MERGE_M);
      if (!node) roadNodes.push((node = { id: `${road_id}-${site}`, d, xy: pointAt(path, d), sites: [] }));
      node.sites.push(site);
    }
    // The road is simulated from LEAD_M before its first site to LEAD_M after its last: no further, as every
    // vehicle on it costs SUMO time.
    const first = Math.max(0, Math.min(...roadNodes.map((n) => n.d)) - LEAD_M);
    const last = Math.min(length, Math.max(...roadNodes.map((n) => n.d)) + LEAD_M);
    roadNodes.push({ id: `${road_id}-start`, d: first, xy: pointAt(path, first), sites: [] }, { id: `${road_id}-end`, d: last, xy: pointAt(path, last), sites: [] });
    roadNodes.sort((a, b) => a.d - b.d);
    for (const n of roadNodes) {
      addNode({ id: n.id, xy: n.xy, type: n === roadNodes[0] || n === roadNodes.at(-1) ? 'dead_end' : 'priority' });
      for (const site of n.sites) for (const dir of [dir0, dir1]) siteNode.set(`${road_id}-${dir}-${site}`, n.id);
    }

    const lanesOn = new Map<string, number>();
    const forward: string[] = [];
    const backward: string[] = [];
    for (let k = 0; k + 1 < roadNodes.length; k++) {
      const [a, b] = [roadNodes[k]!, roadNodes[k + 1]!];
      const shape = slice(path, a.d, b.d);
      forward.push(`${road_id}-${dir0}-${k}`);
      backward.push(`${road_id}-${dir1}-${k}`);
      edges.push({ id: forward[k]!, from: a.id, to: b.id, lanes: 0, speed_kmh: 0, shape });
      edges.push({ id: backward[k]!, from: b.id, to: a.id, lanes: 0, speed_kmh: 0, shape: [...shape].reverse() });
    }
    for (const s of road.stations) {
      const n = roadNodes.findIndex((x) => x.id === siteNode.get(s.station_id));
      // The road runs on past its sites, so every site has an edge entering it in both directions.
      const place: LoopPlace = { station_id: s.station_id, edge: s.direction === dir0 ? forward[n - 1]! : backward[n]!, lanes: s.lanes };
      stations.push(place);
      lanesOn.set(place.edge, Math.max(lanesOn.get(place.edge) ?? 0, s.lanes));
    }
    const sample = road.stations[0]!;
    for (const e of edges.filter((x) => x.lanes === 0)) {
      e.lanes = lanesOn.get(e.id) ?? sample.lanes;
      e.speed_kmh = sample.free_flow_kmh;
    }
    travel.set(`${road_id}-${dir0}`, { edges: forward, ends: roadNodes.slice(1).map((n) => n.id) });
    travel.set(`${road_id}-${dir1}`, { edges: [...backward].reverse(), ends: roadNodes.slice(0, -1).map((n) => n.id).reverse() });
    const entryStation = (dir: Direction) => road.stations.find((s) => s.direction === dir)!;
    for (const dir of [dir0, dir1]) {
      const st = entryStation(dir);
      const edge = travel.get(`${road_id}-${dir}`)!.edges[0]!;
      entries.push({ id: `${road_id}-${dir}`, edge, lanes: edges.find((e) => e.id === edge)!.lanes, level: st.level, kind: st.kind });
    }
  }

  // Signalised intersections: a road's site node, or a node of their own; stubs for every cross street.
  const byStation = new Map(net.stations.map((s) => [s.station_id, s]));
  for (const x of net.intersections) {
    const linked = x.approaches.filter((a) => a.linked_station_id);
    let center: SumoNode;
    if (linked.length > 0) {
      const ids = new Set(linked.map((a) => siteNode.get(a.linked_station_id!)));
      if (ids.size !== 1) throw new Error(`intersection ${x.intersection_id}: its linked approaches are not at one site`);
      center = nodeById.get([...ids][0]!)!;
      center.type = 'traffic_light';
    } else {
      addNode((center = { id: x.intersection_id, xy: project([x.lat, x.lon]), type: 'traffic_light' }));
    }
    for (const a of x.approaches) {
      if (a.linked_station_id) {
        const st = byStation.get(a.linked_station_id)!;
        const place = stations.find((p) => p.station_id === st.station_id)!;
        const other = x.approaches.find((b) => b.approach === TURNS[a.approach].T && b.linked_station_id);
        if (!other) throw new Error(`intersection ${x.intersection_id}: approach ${a.approach} is a road, so ${TURNS[a.approach].T} must be too`);
        // Leaving towards this approach's side is the opposite direction's edge out of the node.
        const opposite = travel.get(byStation.get(other.linked_station_id!)!.corridor_id!)!;
        const out_edge = opposite.edges[opposite.ends.indexOf(center.id) + 1];
        if (!out_edge) throw new Error(`intersection ${x.intersection_id}: the road ends at the intersection`);
        arms.push({ intersection_id: x.intersection_id, approach: a.approach, station_id: a.station_id, in_edge: place.edge, out_edge, lanes: edges.find((e) => e.id === place.edge)!.lanes });
      } else {
        const [dx, dy] = COMPASS[a.approach];
        const stub: SumoNode = { id: `${x.intersection_id}-${a.approach}`, xy: [round(center.xy[0] + dx * STUB_M), round(center.xy[1] + dy * STUB_M)], type: 'dead_end' };
        addNode(stub);
        const in_edge = `${stub.id}-in`;
        const out_edge = `${stub.id}-out`;
        edges.push({ id: in_edge, from: stub.id, to: center.id, lanes: 1, speed_kmh: STUB_SPEED_KMH, shape: [stub.xy, center.xy] });
        edges.push({ id: out_edge, from: center.id, to: stub.id, lanes: 1, speed_kmh: STUB_SPEED_KMH, shape: [center.xy, stub.xy] });
        arms.push({ intersection_id: x.intersection_id, approach: a.approach, station_id: a.station_id, in_edge, out_edge, lanes: 1 });
        entries.push({ id: stub.id, edge: in_edge, lanes: 1, level: a.level, kind: 'intersection' });
      }
    }
  }

  // Routes. From the edge `out` leaving an intersection, a vehicle carries on to the end of that road (or stub).
  const armsAt = new Map<string, ApproachArm[]>();
  for (const arm of arms) armsAt.set(arm.intersection_id, [...(armsAt.get(arm.intersection_id) ?? []), arm]);
  const armByIn = new Map(arms.map((a) => [a.in_edge, a]));
  const onward = (out: string): string[] => {
    for (const t of travel.values()) {
      const i = t.edges.indexOf(out);
      if (i >= 0) return t.edges.slice(i);
    }
    return [out];
  };
  /** Every way on from an arm: its three movements, each to the arm it leaves by (when there is one). */
  const movesFrom = (arm: ApproachArm) =>
    (['L', 'T', 'R'] as const)
      .map((m) => ({ m, to: armsAt.get(arm.intersection_id)!.find((b) => b.approach === TURNS[arm.approach][m]) }))
      .filter((x): x is { m: 'L' | 'T' | 'R'; to: ApproachArm } => x.to !== undefined);

  for (const entry of entries) {
    const startArm = armByIn.get(entry.edge);
    if (startArm && !travel.has(entry.id)) {
      // A stub: one movement at its intersection, then on to the end of wherever it leads.
      const moves = movesFrom(startArm);
      const total = moves.reduce((s, x) => s + SHARE[x.m], 0);
      for (const { m, to } of moves) {
        routes.push({ id: `${entry.id}-${m}`, entry: entry.id, edges: [entry.edge, ...onward(to.out_edge)], share: SHARE[m] / total, vtype: m === 'T' ? 'car' : turnType(startArm, m) });
      }
      continue;
    }
    // A road direction: through, or one turn onto a cross street at any of its intersections.
    const t = travel.get(entry.id)!;
    let through = 1;
    t.edges.forEach((edge, i) => {
      const arm = armByIn.get(edge);
      if (!arm) return;
      const moves = movesFrom(arm);
      const total = moves.reduce((s, x) => s + SHARE[x.m], 0);
      for (const { m, to } of moves) {
        if (m === 'T') continue;
        routes.push({ id: `${entry.id}-${arm.intersection_id}-${m}`, entry: entry.id, edges: [...t.edges.slice(0, i + 1), ...onward(to.out_edge)], share: (through * SHARE[m]) / total, vtype: turnType(arm, m) });
      }
      through *= moves.some((x) => x.m === 'T') ? SHARE.T / total : 0;
    });
    routes.push({ id: `${entry.id}-through`, entry: entry.id, edges: t.edges, share: through, vtype: 'car' });
  }
  return { nodes, edges, stations, arms, entries, routes: routes.filter((r) => r.share > 0) };
}

export function turnType(arm: Pick<ApproachArm, 'intersection_id' | 'approach'>, m: 'L' | 'R'): string {
  return `t-${arm.intersection_id}-${arm.approach}-${m}`;
}

const attr = (v: string | number): string => String(v).replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');
const shapeText = (shape: Xy[]): string => shape.map(([x, y]) => `${x},${y}`).join(' ');

/** netconvert's plain-XML nodes file. */
export function nodesXml(layout: SumoLayout): string {
  const lines = layout.nodes.map((n) => `  <node id="${attr(n.id)}" x="${n.xy[0]}" y="${n.xy[1]}" type="${n.type}"/>`);
  return ['<?xml version="1.0" encoding="UTF-8"?>', '<nodes>', ...lines, '</nodes>', ''].join('\n');
}

/** netconvert's plain-XML edges file. */
export function edgesXml(layout: SumoLayout): string {
  const lines = layout.edges.map(
    (e) => `  <edge id="${attr(e.id)}" from="${attr(e.from)}" to="${attr(e.to)}" numLanes="${e.lanes}" speed="${round(e.speed_kmh / 3.6)}" shape="${shapeText(e.shape)}"/>`,
  );
  return ['<?xml version="1.0" encoding="UTF-8"?>', '<edges>', ...lines, '</edges>', ''].join('\n');
}
