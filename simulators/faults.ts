/**
 * Faults injected into simulated devices, so a user can watch the agent and central deal with each: chosen with
 * `wacoflow sim --fault TARGET:KIND[@START[+MINUTES]]`, where TARGET is a simulated input (a feed, a serial
 * line, `camera-<intersection>`) or, for detector faults, a road station, and START and MINUTES are simulated
 * minutes from the start (default: from the start, for the rest of the run).
 */
import { ERR, WacoflowError } from '../platform/errors.ts';
import type { LaneInterval, TrafficModel } from './traffic-model.ts';

export type FaultTarget = 'http' | 'serial' | 'station' | 'camera';

/** Each fault, where it applies, and what the system does about it. */
export const FAULTS = {
  outage: { on: ['http', 'serial', 'camera'], effect: 'no answer: the input fails, its circuit breaker opens, then half-opens and closes once the device is back' },
  slow: { on: ['http', 'camera'], effect: 'answers 4 simulated seconds late: polls take longer, nothing is lost' },
  hang: { on: ['http', 'camera'], effect: 'takes the request and never answers: the read times out and the circuit breaker opens' },
  malformed: { on: ['http', 'camera'], effect: 'documents cut off half way: each kept as a dead letter, the read counts as failed' },
  hostile: { on: ['http'], effect: 'XML with a DOCTYPE entity bomb: refused before parsing, kept as a dead letter' },
  'clock-skew': { on: ['http', 'serial', 'camera'], effect: 'timestamps two hours ahead: samples dropped and counted as time_out_of_range' },
  noise: { on: ['serial'], effect: 'line noise before each answer: the bytes are discarded and counted, frames resynchronise' },
  'dropped-bytes': { on: ['serial'], effect: 'bytes lost from answers: bad frames are counted, and those intervals go missing' },
  nonsense: { on: ['camera'], effect: 'negative counts and 900 km/h speeds: the values are dropped and counted by reason' },
  stuck: { on: ['station'], effect: 'detectors stuck on (occupancy 100 %, no vehicles): central raises stuck_on after 15 minutes' },
  chatter: { on: ['station'], effect: 'chattering detectors (20× the vehicles): central raises chatter' },
} as const satisfies Record<string, { on: readonly FaultTarget[]; effect: string }>;

export type FaultKind = keyof typeof FAULTS;

export interface Fault {
  target: string;
  kind: FaultKind;
  /** Simulated minutes after the start. */
  start_min: number;
  /** null: until the run ends. */
  minutes: number | null;
}

/** Two simulated hours: beyond the agent's max_sample_future_ms (5 minutes). */
export const SKEW_MS = 2 * 3_600_000;
export const SLOW_MS = 4_000;

const bad = (message: string) => new WacoflowError(ERR.CONFIG, message);

/** Parses `TARGET:KIND[@START[+MINUTES]]`; `targets` maps each target name to its kind. Errors name the choices. */
export function parseFault(text: string, targets: Map<string, FaultTarget>): Fault {
  const m = /^([A-Za-z0-9][A-Za-z0-9._:-]*?):([a-z-]+)(?:@(\d+(?:\.\d+)?)(?:\+(\d+(?:\.\d+)?))?)?$/.exec(text.trim());
  if (!m) throw bad(`--fault ${text}: expected TARGET:KIND[@START[+MINUTES]], e.g. txdot-i35:outage@5+10`);
  const [, target, kind, start, minutes] = m as unknown as [string, string, string, string | undefined, string | undefined];
  if (!(kind in FAULTS)) throw bad(`--fault ${text}: unknown fault "${kind}"; choose one of ${Object.keys(FAULTS).join(', ')}`);
  const where = targets.get(target);
  if (!where) {
    const devices = [...targets].filter(([, t]) => t !== 'station' && t !== 'camera').map(([n]) => n);
    throw bad(`--fault ${text}: unknown target "${target}"; choose an input (${devices.join(', ')}), camera-<intersection>, or a road station id`);
  }
  const on: readonly FaultTarget[] = FAULTS[kind as FaultKind].on;
  if (!on.includes(where)) throw bad(`--fault ${text}: "${kind}" does not apply to ${target} (a ${where} device); it applies to ${on.join(' and ')} devices`);
  return { target, kind: kind as FaultKind, start_min: Number(start ?? 0), minutes: minutes === undefined ? null : Number(minutes) };
}

/** Which faults are active for a device at a simulated time. */
export class FaultPlan {
  private readonly faults: Fault[];
  private readonly start_ms: number;

  constructor(faults: Fault[], start_ms: number) {
    this.faults = faults;
    this.start_ms = start_ms;
  }

  static none(): FaultPlan {
    return new FaultPlan([], 0);
  }

  has(target: string, kind: FaultKind, now_ms: number): boolean {
    return this.faults.some((f) => {
      if (f.target !== target || f.kind !== kind) return false;
      const from = this.start_ms + f.start_min * 60_000;
      return now_ms >= from && (f.minutes === null || now_ms < from + f.minutes * 60_000);
    });
  }

  /** The model as devices see it: stuck and chattering detectors altered while their fault lasts. */
  lanes(model: LaneSource): LaneSource {
    return {
      covers: (end_ms, what) => model.covers(end_ms, what),
      laneInterval: (station, lane, start_ms, duration_ms) => {
        const l = model.laneInterval(station, lane, start_ms, duration_ms);
        if (this.has(station.station_id, 'stuck', start_ms)) return { ...l, volume: 0, occupancy_pct: 100, speed_kmh: 0 };
        if (this.has(station.station_id, 'chatter', start_ms)) return { ...l, volume: l.volume * 20 + 5 };
        return l;
      },
      approachInterval: (...args) => model.approachInterval(...args),
    };
  }
}

/**
 * What a simulated device reads its values from: the built-in model or SUMO (simulators/sumo/engine.ts), with
 * detector faults applied or not. `covers` says whether the source has every interval ending at or before a
 * time (SUMO computes ahead of the clock, and can fall behind it); until then a device answers as one with
 * nothing new to report.
 */
export type LaneSource = Pick<TrafficModel, 'laneInterval' | 'approachInterval' | 'covers'>;

/** Every `LaneInterval` shifted by a device clock's skew. */
export function skewed(l: LaneInterval, skew_ms: number): LaneInterval {
  return skew_ms === 0 ? l : { ...l, start_ms: l.start_ms + skew_ms };
}
