/**
 * A deterministic traffic model of the Waco network. Demand follows a real weekly profile (demand-profile.ts)
 * at each road's level; every lane sits on a Greenshields fundamental diagram (speed falls linearly with
 * density to a jam density), so volume, occupancy and speed stay consistent. On top of that:
 *
 * - incidents cut capacity at a station; while more arrives than passes, the queue grows, and it spills back
 *   along the corridor: an upstream station is congested once the queue's tail has reached it;
 * - weather spells slow traffic (free-flow speed and capacity fall together, as the diagram says);
 * - a game at McLane Stadium adds its fans' cars before kickoff and, sharper, after the final whistle, most
 *   near the stadium; from 90 minutes before kickoff its entrance gates pass less (traffic control for the
 *   lots), so queues form there and spill back like an incident's;
 * - a signalised approach's camera counts per movement add up to the detector station it is linked to.
 *
 * Every value is a pure function of (seed, detector, interval) and the scenario, so a feed returns the same
 * numbers however often and whenever it is polled, and the same seed gives byte-identical samples.
 */
import type { Station } from '../protocol/index.ts';
import { demandProfile } from './waco/demand-profile.ts';
import { distanceKm, MOVEMENTS, type IntersectionApproach, type RoadStation, type WacoNetwork } from './waco/network.ts';

/** Jam density, vehicles per km per lane (about 185 per mile). */
const JAM_DENSITY_VPKPL = 115;
/** Effective vehicle length seen by a loop: mean vehicle 5.5 m + detection zone 1.8 m. */
const EFFECTIVE_LENGTH_M = 7.3;
/** Signalised approaches get about half of each cycle as green. */
const GREEN_RATIO = 0.5;
const SIGNAL_CYCLE_MS = 90_000;
/** Demand at the busiest hour of the week, as a share of capacity. */
const PEAK_SHARE = 0.92;
/** Queues are integrated in steps of this length. */
const STEP_MS = 60_000;
const MINUTE_MS = 60_000;
/**
 * Game traffic per lane at the stadium's doorstep at the height of arrivals, veh/h. Our estimate: 45,000 seats
 * at about 2.5 fans a car is 18,000 cars, about half of them in the last hour, over a dozen approach lanes.
 */
const GAME_PEAK_VPHPL = 700;
/** Game traffic falls off by e for each this many km from the stadium. */
const GAME_REACH_KM = 1;
/** Before kickoff the stadium gates pass less for this long. */
const GATE_CONTROL_MS = 90 * MINUTE_MS;
/** Share of an approach's vehicles turning left, going through, turning right. */
export const MOVEMENT_SHARES = [0.15, 0.72, 0.13] as const;

export interface Incident {
  station_id: string;
  start_ms: number;
  duration_ms: number;
  /** Share of capacity left while the incident lasts (0.3 = two of three lanes blocked). */
  capacity_factor: number;
}

/** Rain or worse over the whole city: free-flow speed, and with it capacity, fall to `speed_factor`. */
export interface WeatherSpell {
  start_ms: number;
  duration_ms: number;
  /** 0.9 for light rain, 0.8 for heavy rain (HCM 7th ed. ranges: speed −2…−14 % and −5…−17 %). */
  speed_factor: number;
}

/** A home game at McLane Stadium. */
export interface Game {
  kickoff_ms: number;
  /** Kickoff to final whistle (college football: about 3.5 hours). */
  duration_ms: number;
}

export interface Scenario {
  incidents?: Incident[];
  weather?: WeatherSpell[];
  games?: Game[];
  /** Corridors (for queues that spill back) and the stadium (for game-day demand). */
  network?: WacoNetwork;
}

export interface LaneInterval {
  detector_id: string;
  station_id: string;
  start_ms: number;
  duration_ms: number;
  volume: number;
  occupancy_pct: number;
  /** Mean speed of the counted vehicles, km/h; 0 when none passed (as real feeds report). */
  speed_kmh: number;
  /** True when the simulated detector sent the 255 "unknown speed" sentinel instead. */
  speed_sentinel: boolean;
}

/** One camera record: an approach's vehicles in an interval, by movement. */
export interface ApproachInterval {
  station_id: string;
  start_ms: number;
  duration_ms: number;
  movements: { movement: (typeof MOVEMENTS)[number]; volume: number }[];
  speed_kmh: number | null;
  occupancy_pct: number;
  queue_veh: number;
}

/** Mulberry32 seeded from an FNV-1a hash of the parts: a small, fast, deterministic generator. */
export function rng(...parts: (string | number)[]): () => number {
  let h = 0x811c9dc5;
  for (const ch of parts.join('|')) {
    h ^= ch.charCodeAt(0);
    h = Math.imul(h, 0x01000193);
  }
  let a = h >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

function poisson(mean: number, rand: () => number): number {
  if (mean > 30) return Math.max(0, Math.round(mean + Math.sqrt(mean) * gaussian(rand)));
  const limit = Math.exp(-mean);
  let k = 0;
  for (let p = rand(); p > limit; p *= rand()) k++;
  return k;
}

function gaussian(rand: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
}

const localFormat = new Intl.DateTimeFormat('en-US', { timeZone: 'America/Chicago', weekday: 'short', hour: 'numeric', minute: 'numeric', hourCycle: 'h23' });
const WEEKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const localByMinute = new Map<number, { weekday: number; hour: number }>();

/** Waco's local weekday (0 = Sunday) and time of day in fractional hours (Central time, with daylight saving). */
export function localTime(t_ms: number): { weekday: number; hour: number } {
  const minute = Math.floor(t_ms / MINUTE_MS);
  let v = localByMinute.get(minute);
  if (!v) {
    const parts = localFormat.formatToParts(new Date(minute * MINUTE_MS));
    const part = (type: string) => parts.find((p) => p.type === type)?.value ?? '0';
    v = { weekday: WEEKDAYS.indexOf(part('weekday')), hour: Number(part('hour')) + Number(part('minute')) / 60 };
    if (localByMinute.size > 100_000) localByMinute.clear();
    localByMinute.set(minute, v);
  }
  return v;
}

/**
 * Demand as a share of capacity: the real weekly profile scaled to the peak, interpolated between the middles
 * of the hours (the profile's value for 17:00 is the mean of 17:00–18:00, so it holds at 17:30).
 */
export function demandShare(t_ms: number): number {
  const { weekday, hour } = localTime(t_ms);
  const p = demandProfile().by_weekday_hour;
  const at = (d: number, h: number) => (h < 0 ? p[(d + 6) % 7]![23]! : h > 23 ? p[(d + 1) % 7]![0]! : p[d]![h]!);
  const x = hour - 0.5;
  const h = Math.floor(x);
  const f = x - h;
  return PEAK_SHARE * (at(weekday, h) * (1 - f) + at(weekday, h + 1) * f);
}

/** Density on the free-flowing (or, with `congested`, the queued) branch of the diagram at a flow per lane. */
function densityAt(flow: number, vf: number, congested: boolean): number {
  const root = Math.sqrt(Math.max(0, 1 - (4 * flow) / (vf * JAM_DENSITY_VPKPL)));
  return (JAM_DENSITY_VPKPL / 2) * (congested ? 1 + root : 1 - root);
}

interface QueueTrace {
  /** Vehicles queued (all lanes) at the end of each step since the incident began. */
  vehicles: number[];
  /** True once the queue has cleared after the incident ended: no further steps needed. */
  done: boolean;
}

export class TrafficModel {
  private readonly seed: string;
  private readonly incidents: Incident[];
  private readonly weather: WeatherSpell[];
  private readonly games: Game[];
  private readonly network: WacoNetwork | null;
  private readonly roadStations = new Map<string, RoadStation>();
  private readonly traces = new Map<Incident, QueueTrace>();

  constructor(seed: string, incidentsOrScenario: Incident[] | Scenario = []) {
    const s: Scenario = Array.isArray(incidentsOrScenario) ? { incidents: incidentsOrScenario } : incidentsOrScenario;
    this.seed = seed;
    this.weather = s.weather ?? [];
    this.games = s.games ?? [];
    this.network = s.network ?? null;
    // A game's gate control is a capacity drop at a point, like an incident's, and queues the same way.
    const stadium = this.network?.stadium;
    const gates = stadium
      ? this.games.flatMap((g) => stadium.gates.map((station_id) => ({ station_id, start_ms: g.kickoff_ms - GATE_CONTROL_MS, duration_ms: GATE_CONTROL_MS, capacity_factor: stadium.gate_capacity_factor })))
      : [];
    this.incidents = [...(s.incidents ?? []), ...gates];
    for (const st of this.network?.stations ?? []) this.roadStations.set(st.station_id, st);
  }

  /** Capacity per lane, veh/h, in fair weather: Greenshields' maximum flow, cut by the green share at signals. */
  static capacity(station: Pick<Station, 'kind' | 'free_flow_kmh'>): number {
    const q = (station.free_flow_kmh * JAM_DENSITY_VPKPL) / 4;
    return station.kind === 'intersection' ? q * GREEN_RATIO : q;
  }

  /** The model computes any interval when asked: it covers every time (see `LaneSource`). */
  covers(_end_ms: number, _what: 'lanes' | 'approaches'): boolean {
    return true;
  }

  activeIncident(station_id: string, t_ms: number): Incident | undefined {
    return this.incidents.find((i) => i.station_id === station_id && t_ms >= i.start_ms && t_ms < i.start_ms + i.duration_ms);
  }

  /** The weather's factor on free-flow speed and capacity at a time (1 in fair weather). */
  weatherFactor(t_ms: number): number {
    let f = 1;
    for (const w of this.weather) if (t_ms >= w.start_ms && t_ms < w.start_ms + w.duration_ms) f = Math.min(f, w.speed_factor);
    return f;
  }

  /** Game traffic per lane, veh/h: arrivals peaking 45 minutes before kickoff, a sharper departure after the game. */
  gameDemandPerLane(station: Pick<Station, 'lat' | 'lon'>, t_ms: number): number {
    if (this.games.length === 0 || !this.network) return 0;
    const { lat, lon } = this.network.stadium;
    const near = Math.exp(-distanceKm([lat, lon], [station.lat, station.lon]) / GAME_REACH_KM);
    let surge = 0;
    for (const g of this.games) {
      const arrive = (t_ms - (g.kickoff_ms - 45 * MINUTE_MS)) / (40 * MINUTE_MS);
      const leave = (t_ms - (g.kickoff_ms + g.duration_ms + 20 * MINUTE_MS)) / (25 * MINUTE_MS);
      surge += Math.exp(-(arrive ** 2) / 2) + 1.3 * Math.exp(-(leave ** 2) / 2);
    }
    return GAME_PEAK_VPHPL * near * surge;
  }

  private stationLevel(station: Station): number {
    const road = this.roadStations.get(station.station_id)?.level ?? 1;
    return road * (0.8 + 0.25 * rng(this.seed, station.station_id)());
  }

  /** Mean demand per lane at a station, veh/h, before any queue (the weather slows traffic, it does not cut demand). */
  demandPerLane(station: Station, t_ms: number): number {
    return TrafficModel.capacity(station) * demandShare(t_ms) * this.stationLevel(station) + this.gameDemandPerLane(station, t_ms);
  }

  private capacityAt(station: Station, t_ms: number): number {
    return TrafficModel.capacity(station) * this.weatherFactor(t_ms);
  }

  /** Vehicles queued behind an incident at a time (all lanes), by integrating arrivals minus departures. */
  private queuedVehicles(incident: Incident, t_ms: number): number {
    if (t_ms < incident.start_ms) return 0;
    const station = this.roadStations.get(incident.station_id);
    if (!station) return 0;
    let trace = this.traces.get(incident);
    if (!trace) this.traces.set(incident, (trace = { vehicles: [], done: false }));
    const step = Math.floor((t_ms - incident.start_ms) / STEP_MS);
    while (trace.vehicles.length <= step && !trace.done) {
      const t = incident.start_ms + trace.vehicles.length * STEP_MS;
      const before = trace.vehicles.at(-1) ?? 0;
      const capacity = this.capacityAt(station, t);
      const outflow = t < incident.start_ms + incident.duration_ms ? capacity * incident.capacity_factor : capacity;
      const arriving = this.demandPerLane(station, t);
      const after = Math.max(0, before + ((arriving - outflow) * station.lanes * STEP_MS) / 3_600_000);
      trace.vehicles.push(after);
      if (after === 0 && t >= incident.start_ms + incident.duration_ms) trace.done = true;
    }
    return trace.vehicles[step] ?? 0;
  }

  /**
   * The flow per lane a queue lets past a station at a time, or null when no queue stands over it: a station
   * is in the queue behind an incident at its own position while vehicles are queued, and upstream on the same
   * corridor once the queue's tail has grown back to it.
   */
  private queuedFlow(station: Station, t_ms: number): number | null {
    let flow: number | null = null;
    const here = this.roadStations.get(station.station_id);
    for (const incident of this.incidents) {
      if (t_ms < incident.start_ms) continue;
      const at = this.roadStations.get(incident.station_id);
      const sameStation = incident.station_id === station.station_id;
      if (!sameStation && !(at && here && at.corridor_id === here.corridor_id && here.km < at.km)) continue;
      const active = t_ms < incident.start_ms + incident.duration_ms;
      const bottleneck = at ?? station;
      const capacity = this.capacityAt(bottleneck, t_ms);
      const passing = (active ? capacity * incident.capacity_factor : capacity * 0.95) * bottleneck.lanes;
      const queued = this.queuedVehicles(incident, t_ms);
      if (sameStation) {
        if (queued > 0 || (active && this.demandPerLane(station, t_ms) > capacity * incident.capacity_factor)) flow = Math.min(flow ?? Infinity, passing / station.lanes);
        continue;
      }
      // The queue stores vehicles at the difference between queued and arriving densities.
      const vf = bottleneck.free_flow_kmh * this.weatherFactor(t_ms);
      const stored = densityAt(passing / bottleneck.lanes, vf, true) - densityAt(Math.min(this.demandPerLane(bottleneck, t_ms), capacity * 0.98), vf, false);
      const tailKm = stored > 0 ? queued / (stored * bottleneck.lanes) : 0;
      if (tailKm >= at!.km - here!.km) flow = Math.min(flow ?? Infinity, passing / station.lanes);
    }
    return flow;
  }

  laneInterval(station: Station, lane: number, start_ms: number, duration_ms: number): LaneInterval {
    const detector_id = `${station.station_id}-l${lane}`;
    const rand = rng(this.seed, detector_id, start_ms);
    const weather = this.weatherFactor(start_ms);
    const vf = station.free_flow_kmh * weather;
    const capacity = this.capacityAt(station, start_ms);
    // Outer lanes carry a little less.
    const laneShare = 1.08 - 0.06 * (lane - 1);
    const demand = this.demandPerLane(station, start_ms) * laneShare;
    const queued = this.queuedFlow(station, start_ms);

    let flow: number;
    let density: number;
    if (queued !== null) {
      // A queue stands over the detector: it sits on the congested branch, passing only what the bottleneck lets by.
      flow = Math.min(queued, capacity * 0.98);
      density = densityAt(flow, vf, true);
    } else {
      flow = Math.min(demand, capacity * 0.98);
      density = densityAt(flow, vf, false);
    }
    const speed = density > 0 ? flow / density : vf;
    const volume = poisson((flow * duration_ms) / 3_600_000, rand);
    const occupancy = Math.min(100, Math.max(0, density * EFFECTIVE_LENGTH_M * 0.1 * (1 + 0.08 * gaussian(rand))));
    const speed_sentinel = rand() < 0.01;
    return {
      detector_id,
      station_id: station.station_id,
      start_ms,
      duration_ms,
      volume,
      occupancy_pct: Math.round(occupancy),
      speed_kmh: volume === 0 ? 0 : Math.max(3, Math.round(speed * (1 + 0.04 * gaussian(rand)))),
      speed_sentinel,
    };
  }

  /**
   * A camera's record for one approach. A linked approach counts the vehicles its road station counted in the
   * same interval (the sum of `sub_interval_ms` lane intervals), split into movements; others carry cross-street
   * demand at their level on the signal's share of capacity.
   */
  approachInterval(approach: IntersectionApproach, station: Station, start_ms: number, duration_ms: number, sub_interval_ms = 20_000): ApproachInterval {
    const rand = rng(this.seed, station.station_id, start_ms, 'approach');
    const linked = approach.linked_station_id ? this.roadStations.get(approach.linked_station_id) : undefined;
    let volume = 0;
    let speedSum = 0;
    let occupancy = 0;
    let intervals = 0;
    let congested = false;
    if (linked) {
      for (let t = start_ms; t < start_ms + duration_ms; t += sub_interval_ms) {
        for (let lane = 1; lane <= linked.lanes; lane++) {
          const l = this.laneInterval(linked, lane, t, sub_interval_ms);
          volume += l.volume;
          speedSum += l.speed_kmh * l.volume;
          occupancy += l.occupancy_pct;
          intervals++;
        }
      }
      congested = this.queuedFlow(linked, start_ms) !== null;
      occupancy /= intervals;
    } else {
      const vf = station.free_flow_kmh * this.weatherFactor(start_ms);
      const capacity = this.capacityAt(station, start_ms);
      const flow = Math.min(capacity * 0.98, TrafficModel.capacity(station) * demandShare(start_ms) * approach.level + this.gameDemandPerLane(station, start_ms)) * station.lanes;
      volume = poisson((flow * duration_ms) / 3_600_000, rand);
      const density = densityAt(flow / station.lanes, vf, false);
      speedSum = volume * (density > 0 ? flow / station.lanes / density : vf);
      occupancy = Math.min(100, density * EFFECTIVE_LENGTH_M * 0.1);
    }
    // Each vehicle picks a movement.
    const counts = [0, 0, 0];
    for (let v = 0; v < volume; v++) {
      const u = rand();
      counts[u < MOVEMENT_SHARES[0] ? 0 : u < MOVEMENT_SHARES[0] + MOVEMENT_SHARES[1] ? 1 : 2]!++;
    }
    // Vehicles stopped at the red, at the end of the interval: arrivals during the red share of a cycle, plus
    // a standing queue when the road behind the stop line is congested.
    const perCycle = (volume * SIGNAL_CYCLE_MS) / duration_ms;
    const queue_veh = Math.round(perCycle * (1 - GREEN_RATIO) + (congested ? 12 * station.lanes : 0));
    return {
      station_id: station.station_id,
      start_ms,
      duration_ms,
      movements: MOVEMENTS.map((movement, i) => ({ movement, volume: counts[i]! })),
      speed_kmh: volume > 0 ? Math.round((speedSum / volume) * 10) / 10 : null,
      occupancy_pct: Math.round(occupancy * 10) / 10,
      queue_veh,
    };
  }
}
