/**
 * A deterministic traffic model: demand by time of day, a Greenshields fundamental diagram per lane
 * (speed falls linearly with density to a jam density), and scheduled incidents that cut capacity and push a
 * station onto the congested branch. Every lane interval is a pure function of (seed, detector, interval), so
 * the feed returns the same numbers however often and whenever it is polled.
 */
import type { Station } from '../protocol/index.ts';

/** Jam density, vehicles per km per lane (about 185 per mile). */
const JAM_DENSITY_VPKPL = 115;
/** Effective vehicle length seen by a loop: mean vehicle 5.5 m + detection zone 1.8 m. */
const EFFECTIVE_LENGTH_M = 7.3;
/** Signalised approaches get about half of each cycle as green. */
const GREEN_RATIO = 0.5;

export interface Incident {
  station_id: string;
  start_ms: number;
  duration_ms: number;
  /** Share of capacity left while the incident lasts (0.3 = two of three lanes blocked). */
  capacity_factor: number;
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

/** Demand as a share of capacity by local hour: night trough, morning and evening peaks (weekday shape). */
const HOURLY_DEMAND = [
  0.12, 0.08, 0.07, 0.07, 0.1, 0.22, 0.5, 0.82, 0.88, 0.66, 0.56, 0.58,
  0.62, 0.6, 0.62, 0.7, 0.86, 0.92, 0.74, 0.52, 0.42, 0.34, 0.26, 0.18,
];

const hourFormat = new Intl.DateTimeFormat('en-US', { timeZone: 'America/Chicago', hour: 'numeric', minute: 'numeric', hourCycle: 'h23' });

/** Waco's local time of day in fractional hours (Central time, with daylight saving). */
export function localHour(t_ms: number): number {
  const parts = hourFormat.formatToParts(new Date(t_ms));
  const h = Number(parts.find((p) => p.type === 'hour')?.value ?? 0);
  const m = Number(parts.find((p) => p.type === 'minute')?.value ?? 0);
  return h + m / 60;
}

export function demandShare(t_ms: number): number {
  const h = localHour(t_ms);
  const i = Math.floor(h) % 24;
  const f = h - Math.floor(h);
  return HOURLY_DEMAND[i]! * (1 - f) + HOURLY_DEMAND[(i + 1) % 24]! * f;
}

export class TrafficModel {
  private readonly seed: string;
  private readonly incidents: Incident[];

  constructor(seed: string, incidents: Incident[] = []) {
    this.seed = seed;
    this.incidents = incidents;
  }

  /** Capacity per lane, veh/h: Greenshields' maximum flow, cut by the green share at signals. */
  static capacity(station: Station): number {
    const q = (station.free_flow_kmh * JAM_DENSITY_VPKPL) / 4;
    return station.kind === 'intersection' ? q * GREEN_RATIO : q;
  }

  activeIncident(station_id: string, t_ms: number): Incident | undefined {
    return this.incidents.find((i) => i.station_id === station_id && t_ms >= i.start_ms && t_ms < i.start_ms + i.duration_ms);
  }

  laneInterval(station: Station, lane: number, start_ms: number, duration_ms: number): LaneInterval {
    const detector_id = `${station.station_id}-l${lane}`;
    const rand = rng(this.seed, detector_id, start_ms);
    const vf = station.free_flow_kmh;
    const capacity = TrafficModel.capacity(station);
    // Outer lanes carry a little less; each station has its own level.
    const stationLevel = 0.8 + 0.25 * rng(this.seed, station.station_id)();
    const laneShare = 1.08 - 0.06 * (lane - 1);
    const demand = capacity * demandShare(start_ms) * stationLevel * laneShare;
    const incident = this.activeIncident(station.station_id, start_ms);

    let flow: number;
    let density: number;
    const bottleneck = incident ? capacity * incident.capacity_factor : Infinity;
    if (demand > bottleneck) {
      // More arrives than the incident lets through: a queue stands over the detector, and it sits on the
      // congested branch of the diagram, passing only the bottleneck's flow.
      flow = bottleneck;
      density = (JAM_DENSITY_VPKPL / 2) * (1 + Math.sqrt(Math.max(0, 1 - (4 * flow) / (vf * JAM_DENSITY_VPKPL))));
    } else {
      flow = Math.min(demand, capacity * 0.98);
      density = (JAM_DENSITY_VPKPL / 2) * (1 - Math.sqrt(Math.max(0, 1 - (4 * flow) / (vf * JAM_DENSITY_VPKPL))));
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
}
