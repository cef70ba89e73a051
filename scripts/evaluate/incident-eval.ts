/**
 * The incident detector (central/anomaly/incident.ts) on the simulator's incidents, whose places and start
 * times are known: the Waco network's road stations over five weekdays, with incidents drawn at random
 * (seeded) and their windows made by the same traffic model and history code the simulator uses
 * (simulators/history.ts), so queues spill back along corridors as they do live.
 *
 * Beside it, the naive rule: alarm when the station's own occupancy reaches 25 % (the `moderate` bound) for
 * as many windows as the detector's persistence. It cannot tell an incident from the daily peak.
 *
 * An incident is *detected* when an alarm opens at its station or the one upstream (the queue's first
 * detectors) from its start to 30 minutes after it ends, on evidence that began with it (the alarm's run starts
 * in the window holding the incident's start or later); the time to detect runs from its start to the end of
 * the window that opened the alarm (a window is known once it closes). Any other opening is a false alarm.
 * An incident *queued* when its station's occupancy reached 25 % while it lasted: at night a two-lane road
 * with one lane blocked may carry all its traffic, and no occupancy-based detector can see that.
 */
import { DEFAULT_INCIDENT, IncidentDetector } from '../../central/anomaly/incident.ts';
import { INITIAL_RUN, stepRun, type RunState } from '../../central/anomaly/run-state.ts';
import { downstreamNeighbours } from '../../central/forecast/corridors.ts';
import { alignDown, summarise, WINDOW_MS } from '../../protocol/index.ts';
import { modelHistory } from '../../simulators/history.ts';
import { rng, TrafficModel, type Incident } from '../../simulators/traffic-model.ts';
import { wacoNetwork } from '../../simulators/waco/network.ts';

const MINUTE = 60_000;
const DAY = 86_400_000;
/** Monday 2026-11-16 00:00 in Waco (CST). */
const MONDAY = Date.UTC(2026, 10, 16, 6);
const QUEUED_PCT = 25;

interface Alarm {
  key: string;
  /** The window that opened it. */
  t: number;
  /** The first window of its run. */
  since: number;
}

export interface IncidentRow {
  detector: string;
  incidents: number;
  queued: number;
  detected: number;
  detected_queued: number;
  /** Minutes from incident start to the end of the confirming window, ascending. */
  times_min: number[];
  false_alarms: number;
  station_days: number;
}

export interface IncidentEvaluation {
  days: number;
  pairs: number;
  rows: IncidentRow[];
}

/** `count` incidents over `days` weekdays, 06:00–22:00, at stations with a downstream neighbour, ≥ 3 h apart on a corridor. */
function drawIncidents(seed: string, stations: readonly string[], corridorOf: ReadonlyMap<string, string | null>, days: number, count: number): Incident[] {
  const rand = rng(seed, 'incidents');
  const out: Incident[] = [];
  while (out.length < count) {
    const station_id = stations[Math.floor(rand() * stations.length)]!;
    const start_ms = MONDAY + Math.floor(rand() * days) * DAY + (6 * 60 + Math.floor(rand() * 16 * 60 / 5) * 5) * MINUTE;
    const clash = out.some((i) => corridorOf.get(i.station_id) === corridorOf.get(station_id) && Math.abs(i.start_ms - start_ms) < 3 * 60 * MINUTE);
    if (clash) continue;
    out.push({ station_id, start_ms, duration_ms: (20 + Math.floor(rand() * 9) * 5) * MINUTE, capacity_factor: 0.1 + Math.round(rand() * 40) / 100 });
  }
  return out.sort((a, b) => a.start_ms - b.start_ms);
}

export function evaluateIncidents(seed = 'incidents', days = 5, count = 30): IncidentEvaluation {
  const net = wacoNetwork();
  const below = downstreamNeighbours(net.stations, net.corridors);
  const above = new Map([...below].map(([up, down]) => [down, up]));
  const corridorOf = new Map(net.stations.map((s) => [s.station_id, s.corridor_id]));
  const incidents = drawIncidents(seed, [...below.keys()].sort(), corridorOf, days, count);
  const model = new TrafficModel(seed, { network: net, incidents });

  // Occupancy of every road station in every window.
  const occ = new Map<string, number | null>();
  for (const day of modelHistory(model, net.stations, MONDAY, MONDAY + days * DAY)) {
    for (const w of day) occ.set(`${w.key}@${w.window_start_ms}`, summarise(w.measures).occupancy_pct);
  }
  const occAt = (station: string, t: number): number | null => occ.get(`${station}@${t}`) ?? null;

  const california = new IncidentDetector(DEFAULT_INCIDENT);
  const naive = new Map<string, RunState>();
  // Each alarm: its station, the window that opened it, and the first window of the run that made it.
  const openings: Record<'california' | 'naive', Alarm[]> = { california: [], naive: [] };
  for (let t = MONDAY; t < MONDAY + days * DAY; t += WINDOW_MS) {
    for (const [up, down] of below) {
      for (const e of california.push({ up, down, window_start_ms: t, up_occupancy_pct: occAt(up, t), down_occupancy_pct: occAt(down, t) })) {
        if (e.kind === 'open') openings.california.push({ key: e.key, t, since: e.since_ms });
      }
      const o = occAt(up, t);
      const step = stepRun(naive.get(up) ?? { ...INITIAL_RUN }, t, o === null ? 'none' : o >= QUEUED_PCT ? 'beyond' : 'normal', DEFAULT_INCIDENT);
      naive.set(up, step.state);
      for (const tr of step.transitions) if (tr.to === 'open') openings.naive.push({ key: up, t, since: tr.since_ms });
    }
  }

  const queuedOf = (i: Incident): boolean => {
    for (let t = i.start_ms - (i.start_ms % WINDOW_MS); t < i.start_ms + i.duration_ms; t += WINDOW_MS) if ((occAt(i.station_id, t) ?? 0) >= QUEUED_PCT) return true;
    return false;
  };
  const queued = incidents.map(queuedOf);
  const score = (detector: string, list: Alarm[]): IncidentRow => {
    // The alarm's evidence must begin with the incident: its run's first window is the one holding the start, or later.
    const matches = (i: Incident, o: Alarm) =>
      (o.key === i.station_id || o.key === above.get(i.station_id)) && o.since >= alignDown(i.start_ms, WINDOW_MS) && o.t <= i.start_ms + i.duration_ms + 30 * MINUTE;
    const first = incidents.map((i) => list.filter((o) => matches(i, o)).sort((a, b) => a.t - b.t)[0]);
    const times = incidents.flatMap((i, k) => (first[k] ? [(first[k]!.t + WINDOW_MS - i.start_ms) / MINUTE] : [])).sort((a, b) => a - b);
    return {
      detector,
      incidents: incidents.length,
      queued: queued.filter(Boolean).length,
      detected: first.filter(Boolean).length,
      detected_queued: first.filter((f, k) => f && queued[k]).length,
      times_min: times,
      false_alarms: list.filter((o) => !incidents.some((i) => matches(i, o))).length,
      station_days: below.size * days,
    };
  };
  return { days, pairs: below.size, rows: [score('incident (California, occupancy difference)', openings.california), score('naive: occupancy ≥ 25 %', openings.naive)] };
}
