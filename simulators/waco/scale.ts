/**
 * The Waco network grown to a given number of road stations, for sizing runs (`wacoflow sim --stations N`):
 * the city as it is, then copies of its TMDD-fed roads ("districts" d2, d3, …) on a grid east of Waco, each
 * with feeds and agents of its own, until there are N road stations. Every simulated device, agent, the
 * gateway and central then carry N stations' traffic. A district has no intersections, serial lines or
 * stadium: it adds load, not behaviour.
 */
import type { Corridor, RoadStation, SimInput, WacoNetwork } from './network.ts';

/** Districts per row of the grid, and the grid's spacing in degrees (about 25 km). */
const PER_ROW = 6;
const SPACING_DEG = 0.25;

export function scaledNetwork(net: WacoNetwork, stations: number): WacoNetwork {
  if (stations <= net.stations.length) {
    if (stations === net.stations.length) return net;
    throw new RangeError(`--stations ${stations}: at least the city's ${net.stations.length} road stations`);
  }
  const feeds = net.inputs.filter((i) => i.driver === 'tmdd-http');
  const template = net.stations.filter((s) => feeds.some((f) => f.name === s.input));
  const inputs: SimInput[] = [...net.inputs];
  const added: RoadStation[] = [];
  const corridors: Corridor[] = [...net.corridors];
  for (let d = 2; net.stations.length + added.length < stations; d++) {
    const prefix = `d${d}-`;
    const [dLat, dLon] = [-SPACING_DEG * Math.floor((d - 2) / PER_ROW), SPACING_DEG * (1 + ((d - 2) % PER_ROW))];
    const room = stations - net.stations.length - added.length;
    const copies = template.slice(0, room).map((s): RoadStation => ({
      ...s,
      station_id: prefix + s.station_id,
      name: `${s.name} (district ${d})`,
      corridor_id: s.corridor_id === null ? null : prefix + s.corridor_id,
      lat: round(s.lat + dLat),
      lon: round(s.lon + dLon),
      input: prefix + s.input,
    }));
    added.push(...copies);
    const used = new Set(copies.map((s) => s.input));
    inputs.push(...feeds.filter((f) => used.has(prefix + f.name)).map((f) => ({ ...f, name: prefix + f.name, agent: prefix + f.agent, organization_id: `${f.organization_id ?? f.name}-D${d}` })));
    const ids = new Set(copies.map((s) => s.station_id));
    for (const c of net.corridors) {
      const station_ids = c.station_ids.map((id) => prefix + id).filter((id) => ids.has(id));
      if (station_ids.length === 0) continue;
      corridors.push({ ...c, corridor_id: prefix + c.corridor_id, name: `${c.name} (district ${d})`, path: c.path.map(([lat, lon]) => [round(lat + dLat), round(lon + dLon)]), station_ids });
    }
  }
  return { ...net, inputs, stations: [...net.stations, ...added], corridors };
}

function round(deg: number): number {
  return Math.round(deg * 1e5) / 1e5;
}
