/**
 * The fault harness's workload: a seeded fleet layout and the bins each agent generates, and an independent
 * computation of the windows they must produce. The reference fold below is deliberately plain (sums, min and
 * max per window key) and shares no code with central's windowing, so a bug there cannot hide in both.
 */
import type { BinDraft } from '../edge-agent/aggregate/binner.ts';
import { expecting, WINDOW_MS, type Bin, type Measures } from '../protocol/index.ts';
import { rng } from '../simulators/traffic-model.ts';

export const BIN_MS = 60_000;
/** Samples per bin (20 s samples in a minute): a bin counted twice shows as 3 extra samples. */
export const SAMPLES_PER_BIN = 3;

export interface Layout {
  run_id: string;
  agents: AgentLayout[];
  /** The first bin's start; minute m of the run is the bin starting at t0_ms + m minutes. */
  t0_ms: number;
  minutes: number;
  seed: number;
}

export interface AgentLayout {
  device_id: string;
  stations: { station_id: string; corridor_id: string; detectors: string[] }[];
  /** Minutes whose bins this agent stamps with an unsynchronised, shifted clock (clock-skew scenario). */
  skew: ClockSkew[];
}

/** From minute `from` (inclusive) to `to` (exclusive) the agent's clock is off by `offset_ms`. */
export interface ClockSkew {
  from: number;
  to: number;
  offset_ms: number;
}

export interface Scale {
  agents: number;
  stations_per_agent: number;
  lanes: number;
  minutes: number;
}

/**
 * Agent `a` serves stations `a.0 … a.(S-1)`; station `j` of every agent lies on corridor `j`, so every corridor
 * spans all agents (and so several Kafka partitions, since bins are keyed by station).
 */
export function layout(run_id: string, scale: Scale, seed: number, now_ms: number): Layout {
  // Event time: the run's minutes end an hour before now, so every window is due (finalised, then revised by
  // bins that arrive after a fault) and nothing is in the future for any central instance.
  const t0_ms = Math.floor((now_ms - 3_600_000 - scale.minutes * BIN_MS) / WINDOW_MS) * WINDOW_MS;
  const agents = Array.from({ length: scale.agents }, (_, a): AgentLayout => ({
    device_id: `${run_id}-a${a}`,
    stations: Array.from({ length: scale.stations_per_agent }, (_, j) => {
      const station_id = `${run_id}-a${a}-s${j}`;
      return { station_id, corridor_id: `${run_id}-c${j}`, detectors: Array.from({ length: scale.lanes }, (_, l) => `${station_id}-l${l + 1}`) };
    }),
    skew: [],
  }));
  return { run_id, agents, t0_ms, minutes: scale.minutes, seed };
}

export function binCount(l: Layout): number {
  return l.agents.reduce((n, a) => n + a.stations.reduce((k, s) => k + s.detectors.length, 0), 0) * l.minutes;
}

/** One detector-minute's measures: integers throughout except the harmonic-speed sum, so totals are exact. */
export function measuresOf(seed: number, detector_id: string, minute: number): Measures {
  const r = rng(seed, detector_id, minute);
  const volume = Math.floor(r() * 30);
  const speed = 40 + Math.floor(r() * 80);
  const occupied_ms = Math.floor(r() * 25) * 1_000;
  return {
    ...expecting(SAMPLES_PER_BIN),
    volume,
    samples_seen: SAMPLES_PER_BIN,
    occupied_ms,
    occupancy_observed_ms: BIN_MS,
    speed_weight: volume,
    speed_sum: volume * speed,
    speed_inverse_sum: volume / speed,
    speed_min_kmh: volume > 0 ? speed : null,
    speed_max_kmh: volume > 0 ? speed : null,
  };
}

/** The clock offset an agent's bins of minute `m` carry (0 when its clock is in sync). */
export function skewAt(agent: AgentLayout, minute: number): number {
  return agent.skew.find((s) => minute >= s.from && minute < s.to)?.offset_ms ?? 0;
}

/** The bins agent `agent` generates for minute `m`: one per detector. */
export function draftsFor(l: Layout, agent: AgentLayout, minute: number): BinDraft[] {
  const offset = skewAt(agent, minute);
  return agent.stations.flatMap((s) =>
    s.detectors.map((detector_id) => ({
      detector_id,
      station_id: s.station_id,
      bin_start_ms: l.t0_ms + minute * BIN_MS + offset,
      bin_ms: BIN_MS,
      measures: measuresOf(l.seed, detector_id, minute),
    })),
  );
}

export type WindowKey = `${'detector' | 'station' | 'corridor'}/${string}/${number}`;

export interface ExpectedWindow {
  measures: Measures;
  clock_untrusted: boolean;
}

/** The windows the accepted bins must produce, at every level, computed without central's code. */
export function expectedWindows(l: Layout, accepted: Iterable<Bin>): Map<WindowKey, ExpectedWindow> {
  const corridorOf = new Map(l.agents.flatMap((a) => a.stations.map((s) => [s.station_id, s.corridor_id] as const)));
  const out = new Map<WindowKey, ExpectedWindow>();
  const add = (key: WindowKey, bin: Bin): void => {
    let w = out.get(key);
    if (!w) out.set(key, (w = { measures: { ...expecting(0), volume: 0 }, clock_untrusted: false }));
    const m = w.measures;
    const b = bin.measures;
    m.volume = (m.volume ?? 0) + (b.volume ?? 0);
    m.samples_seen += b.samples_seen;
    m.samples_expected += b.samples_expected;
    m.occupied_ms += b.occupied_ms;
    m.occupancy_observed_ms += b.occupancy_observed_ms;
    m.speed_weight += b.speed_weight;
    m.speed_sum += b.speed_sum;
    m.speed_inverse_sum += b.speed_inverse_sum;
    if (b.speed_min_kmh !== null) m.speed_min_kmh = m.speed_min_kmh === null ? b.speed_min_kmh : Math.min(m.speed_min_kmh, b.speed_min_kmh);
    if (b.speed_max_kmh !== null) m.speed_max_kmh = m.speed_max_kmh === null ? b.speed_max_kmh : Math.max(m.speed_max_kmh, b.speed_max_kmh);
    if (!bin.clock.synced) w.clock_untrusted = true;
  };
  for (const bin of accepted) {
    const start = Math.floor(bin.bin_start_ms / WINDOW_MS) * WINDOW_MS;
    add(`detector/${bin.detector_id}/${start}`, bin);
    add(`station/${bin.station_id}/${start}`, bin);
    const corridor = corridorOf.get(bin.station_id);
    if (corridor) add(`corridor/${corridor}/${start}`, bin);
  }
  return out;
}

/** Whether a stored window's measures equal the expected ones (the harmonic sum to rounding). */
export function sameMeasures(stored: Measures, expected: Measures): boolean {
  const close = (a: number, b: number) => Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(a), Math.abs(b));
  return (
    (stored.volume ?? 0) === expected.volume &&
    stored.samples_seen === expected.samples_seen &&
    stored.samples_expected === expected.samples_expected &&
    stored.occupied_ms === expected.occupied_ms &&
    stored.occupancy_observed_ms === expected.occupancy_observed_ms &&
    stored.speed_weight === expected.speed_weight &&
    stored.speed_sum === expected.speed_sum &&
    close(stored.speed_inverse_sum, expected.speed_inverse_sum) &&
    stored.speed_min_kmh === expected.speed_min_kmh &&
    stored.speed_max_kmh === expected.speed_max_kmh
  );
}

/** The inventory file central reads (YAML is a superset of JSON). */
export function inventoryOf(l: Layout): string {
  return JSON.stringify({
    stations: l.agents.flatMap((a) =>
      a.stations.map((s) => ({
        station_id: s.station_id, name: s.station_id, kind: 'freeway', corridor_id: s.corridor_id, lat: 31.55, lon: -97.15,
        lanes: s.detectors.length, free_flow_kmh: 105, detectors: s.detectors,
      })),
    ),
  }, null, 1);
}
