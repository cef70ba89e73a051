/**
 * The SUMO engine: Eclipse SUMO moves vehicles over the Waco network (`waco.net.xml`), and the simulated devices
 * serve what its induction loops measured instead of what the built-in model computes. Same devices, same
 * drivers, same agents; only the source of the numbers differs.
 *
 *   sumo ── loop and queue records over TCP ──▶ SumoEngine ──▶ TMDD feeds, serial sensors, cameras
 *
 * SUMO writes each detector record to a socket as its interval closes (an output file named `host:port`).
 * It simulates as fast as it can; when it is far enough ahead of the clock the engine stops reading, the
 * socket's buffers fill and SUMO waits in its write. So it stays a few minutes ahead of simulated time, and
 * memory holds only those minutes and the devices' history.
 *
 * Demand is the built-in model's: the same real weekly profile and road levels, at SUMO's own lane capacities
 * (vehicles keep their distance in SUMO, so a freeway lane carries about 1,900 veh/h, not Greenshields'
 * 3,200). Incidents close lanes and slow the rest; the queue that forms and spills back is SUMO's.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import { alignDown, MINUTE_MS, type Station } from '../../protocol/index.ts';
import type { Clock } from '../../platform/clock.ts';
import { ERR, WacoflowError } from '../../platform/errors.ts';
import { demandShare, rng, type ApproachInterval, type Incident, type LaneInterval } from '../traffic-model.ts';
import type { IntersectionApproach, WacoNetwork } from '../waco/network.ts';
import { LOOP_BEFORE_M, sumoLayout, turnType, type ApproachArm, type Entry, type SumoLayout } from './layout.ts';
import { laneLengths, NET_FILE, SUMO_INSTALL_HINT, sumoBinary, sumoEnv } from './net-file.ts';

const NET_PATH = fileURLToPath(NET_FILE);
/** Feeds and serial sensors report 20-second intervals; cameras 1-minute ones. */
const STATION_PERIOD_S = 20;
const APPROACH_PERIOD_S = 60;
/** SUMO starts this long before the run, so that the roads are full when the devices first answer. */
const WARM_UP_MS = 15 * MINUTE_MS;
/** Demand is given hour by hour, this far ahead of the start; SUMO stops there. */
const HORIZON_MS = 48 * 60 * MINUTE_MS;
/** Stop reading SUMO once it is this far ahead of the clock; read again when it is half that. */
const LEAD_MS = 10 * MINUTE_MS;
/** Records are kept this long after their interval, for the devices' history (a feed serves the last 9). */
const KEEP_MS = 15 * MINUTE_MS;
/** A lane's flow at the busiest hour (demand share 1): freeway lanes, and signalised arterials with their green share. */
const LANE_VPH = { freeway: 1_900, signalised: 900 };
/** Lanes an incident leaves open are slowed to this, at least. */
const INCIDENT_MIN_SPEED_MS = 2.8;

export interface SumoEngineOptions {
  network: WacoNetwork;
  seed: string;
  clock: Clock;
  logger: Logger;
  /** Simulated time the run starts at: SUMO's clock is aligned to it, and warms up before it. */
  start_ms: number;
  incidents?: Incident[];
}

interface LoopRecord {
  volume: number;
  occupancy_pct: number;
  /** m/s; null when no vehicle passed. */
  speed_ms: number | null;
}


export class SumoEngine {
  private readonly o: SumoEngineOptions;
  private readonly layout: SumoLayout;
  /** SUMO's time 0, ms since the epoch: a whole minute before the start. */
  private readonly t0_ms: number;
  private readonly places: Map<string, { edge: string; lanes: number }>;
  private readonly armsByStation: Map<string, ApproachArm>;
  private readonly loops = new Map<string, LoopRecord>();
  private readonly jams = new Map<string, number>();
  /** Every record of intervals ending at or before this has been read. */
  private stationsUntil = -Infinity;
  private approachesUntil = -Infinity;
  private dir: string | null = null;
  private server: Server | null = null;
  private socket: Socket | null = null;
  private child: ChildProcess | null = null;
  private pacer: NodeJS.Timeout | null = null;
  private exited: string | null = null;
  private stderr = '';
  private waiting: (() => void)[] = [];
  private behindLogged = 0;

  constructor(o: SumoEngineOptions) {
    this.o = o;
    this.layout = sumoLayout(o.network);
    this.t0_ms = alignDown(o.start_ms - WARM_UP_MS, MINUTE_MS);
    this.places = new Map(this.layout.stations.map((p) => [p.station_id, p]));
    this.armsByStation = new Map(this.layout.arms.map((a) => [a.station_id, a]));
  }

  /** Refuses, with how to install it, when SUMO is not on this machine: a setting this machine cannot honour. */
  static check(): void {
    if (!sumoBinary('sumo')) throw new WacoflowError(ERR.CONFIG, `--engine sumo: the sumo program is not on PATH (nor in $SUMO_HOME/bin): ${SUMO_INSTALL_HINT}`);
  }

  /** Starts SUMO and resolves once it has simulated up to the clock's present (after the warm-up). */
  async start(): Promise<void> {
    SumoEngine.check();
    this.dir = mkdtempSync(join(tmpdir(), 'wacoflow-sumo-'));
    const server = createServer((socket) => this.read(socket));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const port = (server.address() as { port: number }).port;
    const lengths = laneLengths(readFileSync(NET_FILE, 'utf8'));
    writeFileSync(join(this.dir, 'detectors.add.xml'), this.detectorsXml(`127.0.0.1:${port}`, lengths));
    writeFileSync(join(this.dir, 'routes.rou.xml'), this.routesXml());
    const args = [
      '--net-file', NET_PATH,
      '--route-files', join(this.dir, 'routes.rou.xml'),
      '--additional-files', join(this.dir, 'detectors.add.xml'),
      '--begin', '0',
      '--end', String((this.o.start_ms - this.t0_ms + HORIZON_MS) / 1000),
      '--seed', String(Math.floor(rng(this.o.seed, 'sumo')() * 2 ** 31)),
      '--xml-validation', 'never',
      // A closed lane can cut a turn off (the left lane of a two-lane approach): the vehicles routed over it are
      // stuck and SUMO teleports them on, as it does any jam, instead of quitting.
      '--ignore-route-errors', 'true',
      '--no-step-log', 'true',
      '--no-warnings', 'true',
      '--duration-log.disable', 'true',
    ];
    this.o.logger.info({ net: NET_PATH, seed: this.o.seed }, 'starting SUMO');
    const child = spawn(sumoBinary('sumo')!, args, { env: sumoEnv(), stdio: ['ignore', 'ignore', 'pipe'] });
    this.child = child;
    child.stderr!.on('data', (b: Buffer) => (this.stderr = (this.stderr + b.toString()).slice(-4_000)));
    child.on('exit', (code, signal) => {
      this.exited = signal ? `killed by ${signal}` : `exited with code ${code}`;
      if (this.child) {
        const why = this.errors();
        this.o.logger[code === 0 ? 'info' : 'error']({ code, signal }, `SUMO ${this.exited}${why ? `: ${why}` : ''}`);
      }
      this.wake();
    });
    this.pacer = setInterval(() => this.pace(), 200);
    this.pacer.unref();
    // Ready once SUMO has warmed up to the start. The clock is held until then, and afterwards at wherever
    // SUMO has reached (simulatedUntil), so the devices never ask for an interval SUMO has not simulated.
    let progressAt = Date.now();
    while (this.simulatedUntil() < this.o.start_ms) {
      if (this.exited) throw new Error(`SUMO ${this.exited} before the simulation reached the start: ${this.errors() || this.stderr.trim()}`);
      if (Date.now() - progressAt >= 10_000) {
        progressAt = Date.now();
        const done = Math.max(0, this.simulatedUntil() - this.t0_ms) / (this.o.start_ms - this.t0_ms);
        this.o.logger.info(`SUMO is warming up the roads: ${Math.floor(done * 100)} % of ${Math.round((this.o.start_ms - this.t0_ms) / MINUTE_MS)} simulated minutes`);
      }
      await new Promise<void>((resolve) => {
        this.waiting.push(resolve);
        setTimeout(resolve, 500).unref();
      });
    }
    this.o.logger.info({ lanes: this.layout.stations.length + this.layout.arms.length, routes: this.layout.routes.length }, 'SUMO is running: simulated time goes no faster than SUMO');
  }

  /**
   * How far SUMO's records are complete, lanes and approaches both: the simulator's clock is held here, so that
   * simulated time waits for SUMO when SUMO is slower than the asked speed-up. Once SUMO has exited there is
   * nothing to wait for, and time runs on (the devices go silent).
   */
  simulatedUntil(): number {
    return this.exited ? Infinity : Math.min(this.stationsUntil, this.approachesUntil);
  }

  async stop(): Promise<void> {
    if (this.pacer) clearInterval(this.pacer);
    const child = this.child;
    this.child = null;
    this.socket?.destroy();
    if (child && child.exitCode === null && child.signalCode === null) {
      const gone = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await gone;
    }
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
  }

  /**
   * Whether every interval ending at or before `end_ms` has been read from SUMO. The held clock keeps this true
   * while SUMO runs; once SUMO has exited it turns false, and the devices go silent.
   */
  covers(end_ms: number, what: 'lanes' | 'approaches'): boolean {
    const ok = end_ms <= (what === 'lanes' ? this.stationsUntil : this.approachesUntil);
    if (!ok && Date.now() - this.behindLogged > 10_000) {
      this.behindLogged = Date.now();
      this.o.logger.warn({ simulated_until: new Date(this.stationsUntil).toISOString(), wanted: new Date(end_ms).toISOString() }, `SUMO ${this.exited ?? 'is behind'}: the simulated devices have no further data`);
    }
    return ok;
  }

  laneInterval(station: Station, lane: number, start_ms: number, duration_ms: number): LaneInterval {
    let volume = 0;
    let occupancy = 0;
    let speedSum = 0;
    let parts = 0;
    for (let t = start_ms; t < start_ms + duration_ms; t += STATION_PERIOD_S * 1000) {
      const r = this.loops.get(`${station.station_id}-l${lane}@${t}`);
      if (!r) continue;
      volume += r.volume;
      occupancy += r.occupancy_pct;
      if (r.speed_ms !== null) speedSum += r.speed_ms * 3.6 * r.volume;
      parts++;
    }
    return {
      detector_id: `${station.station_id}-l${lane}`,
      station_id: station.station_id,
      start_ms,
      duration_ms,
      volume,
      occupancy_pct: parts ? Math.round(occupancy / parts) : 0,
      speed_kmh: volume > 0 ? Math.max(1, Math.round(speedSum / volume)) : 0,
      speed_sentinel: false,
    };
  }

  approachInterval(approach: IntersectionApproach, station: Station, start_ms: number, duration_ms: number): ApproachInterval {
    const arm = this.armsByStation.get(approach.station_id);
    const counts = { L: 0, T: 0, R: 0 };
    let occupancy = 0;
    let speedSum = 0;
    let queue = 0;
    let parts = 0;
    for (let t = start_ms; t < start_ms + duration_ms; t += APPROACH_PERIOD_S * 1000) {
      for (let i = 0; arm && i < arm.lanes; i++) {
        const all = this.loops.get(`${arm.station_id}.a${i}@${t}`);
        if (!all) continue;
        const left = this.loops.get(`${arm.station_id}.L${i}@${t}`)?.volume ?? 0;
        const right = this.loops.get(`${arm.station_id}.R${i}@${t}`)?.volume ?? 0;
        counts.L += left;
        counts.R += right;
        counts.T += all.volume - left - right;
        occupancy += all.occupancy_pct;
        if (all.speed_ms !== null) speedSum += all.speed_ms * 3.6 * all.volume;
        queue += this.jams.get(`${arm.station_id}.q${i}@${t}`) ?? 0;
        parts++;
      }
    }
    const volume = counts.L + counts.T + counts.R;
    return {
      station_id: station.station_id,
      start_ms,
      duration_ms,
      movements: (['L', 'T', 'R'] as const).map((movement) => ({ movement, volume: counts[movement] })),
      speed_kmh: volume > 0 ? Math.round((speedSum / volume) * 10) / 10 : null,
      occupancy_pct: parts ? Math.round((occupancy / parts) * 10) / 10 : 0,
      queue_veh: queue,
    };
  }

  /** Detector definitions: loops per station lane; per approach lane a loop for all, left and right, and a queue area. */
  private detectorsXml(target: string, lengths: Map<string, number>): string {
    const lane = (edge: string, i: number) => {
      const len = lengths.get(`${edge}_${i}`);
      if (len === undefined) throw new Error(`${NET_PATH} has no lane ${edge}_${i}: rebuild it with npm run sumo:network`);
      return len;
    };
    const before = (len: number, m: number) => Math.round(Math.max(len / 2, len - m) * 100) / 100;
    const lines: string[] = [];
    for (const p of this.layout.stations) {
      for (let l = 1; l <= p.lanes; l++) {
        const len = lane(p.edge, l - 1);
        lines.push(`  <inductionLoop id="${p.station_id}-l${l}" lane="${p.edge}_${l - 1}" pos="${before(len, LOOP_BEFORE_M)}" period="${STATION_PERIOD_S}" file="${target}"/>`);
      }
    }
    for (const a of this.layout.arms) {
      for (let i = 0; i < a.lanes; i++) {
        const len = lane(a.in_edge, i);
        const at = `lane="${a.in_edge}_${i}" pos="${before(len, LOOP_BEFORE_M)}" period="${APPROACH_PERIOD_S}" file="${target}"`;
        lines.push(`  <inductionLoop id="${a.station_id}.a${i}" ${at}/>`);
        lines.push(`  <inductionLoop id="${a.station_id}.L${i}" ${at} vTypes="${turnType(a, 'L')}"/>`);
        lines.push(`  <inductionLoop id="${a.station_id}.R${i}" ${at} vTypes="${turnType(a, 'R')}"/>`);
        lines.push(`  <laneAreaDetector id="${a.station_id}.q${i}" lane="${a.in_edge}_${i}" pos="${Math.max(0, Math.round(len - 100))}" endPos="${Math.round((len - 0.5) * 100) / 100}" period="${APPROACH_PERIOD_S}" file="${target}"/>`);
      }
    }
    lines.push(...this.incidentsXml());
    return ['<additional>', ...lines, '</additional>', ''].join('\n');
  }

  /** An incident closes all but a share of its edge's lanes (at least one stays open) and slows the rest. */
  private incidentsXml(): string[] {
    const out: string[] = [];
    (this.o.incidents ?? []).forEach((inc, n) => {
      const place = this.places.get(inc.station_id);
      if (!place) return;
      const edge = this.layout.edges.find((e) => e.id === place.edge)!;
      const lanes = edge.lanes;
      const closed = Math.min(lanes - 1, Math.round((1 - inc.capacity_factor) * lanes));
      // Whole seconds: SUMO steps one second at a time, and a rerouter or sign due between two steps never acts.
      const begin = Math.round((inc.start_ms - this.t0_ms) / 1000);
      const end = begin + Math.round(inc.duration_ms / 1000);
      const speed = Math.max(INCIDENT_MIN_SPEED_MS, (edge.speed_kmh / 3.6) * inc.capacity_factor);
      const open = Array.from({ length: lanes - closed }, (_, i) => `${place.edge}_${i}`);
      out.push(`  <rerouter id="incident-${n}" edges="${place.edge}">`, `    <interval begin="${begin}" end="${end}">`);
      for (let i = lanes - closed; i < lanes; i++) out.push(`      <closingLaneReroute id="${place.edge}_${i}" allow="authority"/>`);
      out.push('    </interval>', '  </rerouter>');
      out.push(`  <variableSpeedSign id="incident-${n}-speed" lanes="${open.join(' ')}">`);
      out.push(`    <step time="${begin}" speed="${speed.toFixed(2)}"/>`, `    <step time="${end}" speed="${(edge.speed_kmh / 3.6).toFixed(2)}"/>`, '  </variableSpeedSign>');
    });
    return out;
  }

  /** Vehicle types, routes, and hour by hour a Poisson flow on every route at the entry's demand. */
  private routesXml(): string {
    const lines = ['<routes>', '  <vType id="car" speedDev="0.1"/>'];
    for (const a of this.layout.arms) for (const m of ['L', 'R'] as const) lines.push(`  <vType id="${turnType(a, m)}" speedDev="0.1"/>`);
    for (const r of this.layout.routes) lines.push(`  <route id="${r.id}" edges="${r.edges.join(' ')}"/>`);
    const entries = new Map(this.layout.entries.map((e) => [e.id, e]));
    const endS = (this.o.start_ms - this.t0_ms + HORIZON_MS) / 1000;
    for (let begin = 0; begin < endS; begin += 3_600) {
      const mid = this.t0_ms + (begin + 1_800) * 1000;
      for (const r of this.layout.routes) {
        const perS = (entryDemand(entries.get(r.entry)!, mid) * r.share) / 3_600;
        if (perS > 1e-4) {
          lines.push(`  <flow id="${r.id}@${begin}" type="${r.vtype}" route="${r.id}" begin="${begin}" end="${Math.min(endS, begin + 3_600)}" period="exp(${perS.toFixed(5)})" departLane="best" departSpeed="max"/>`);
        }
      }
    }
    lines.push('</routes>', '');
    return lines.join('\n');
  }

  /** Reads SUMO's detector records, one XML element per line, as its intervals close. */
  private read(socket: Socket): void {
    this.socket = socket;
    let rest = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      const lines = (rest + chunk).split('\n');
      rest = lines.pop()!;
      for (const line of lines) if (line.includes('<interval ')) this.record(line);
      this.pace();
      this.wake();
    });
    socket.on('error', () => {});
  }

  private record(line: string): void {
    const attr = (name: string): string | undefined => {
      const at = line.indexOf(` ${name}="`);
      return at < 0 ? undefined : line.slice(at + name.length + 3, line.indexOf('"', at + name.length + 3));
    };
    const id = attr('id')!;
    const begin_ms = this.t0_ms + Math.round(Number(attr('begin')) * 1000);
    const end_ms = this.t0_ms + Math.round(Number(attr('end')) * 1000);
    const jam = attr('maxJamLengthInVehicles');
    if (jam !== undefined) {
      this.jams.set(`${id}@${begin_ms}`, Number(jam));
      return;
    }
    const speed = Number(attr('speed'));
    this.loops.set(`${id}@${begin_ms}`, { volume: Number(attr('nVehContrib')), occupancy_pct: Number(attr('occupancy')), speed_ms: speed < 0 ? null : speed });
    // SUMO writes every detector of one period before the next period's: a record of a later interval means
    // the earlier ones are all in.
    if (end_ms - begin_ms === STATION_PERIOD_S * 1000) this.stationsUntil = Math.max(this.stationsUntil, begin_ms);
    else this.approachesUntil = Math.max(this.approachesUntil, begin_ms);
  }

  /** Reads on while SUMO is less than LEAD_MS ahead of the clock, and drops records older than KEEP_MS. */
  private pace(): void {
    const now = this.o.clock.now();
    if (!this.socket) return;
    if (this.stationsUntil > now + LEAD_MS) this.socket.pause();
    else if (this.stationsUntil < now + LEAD_MS / 2) this.socket.resume();
    const oldest = now - KEEP_MS;
    for (const map of [this.loops, this.jams]) {
      for (const key of map.keys()) {
        if (Number(key.slice(key.lastIndexOf('@') + 1)) >= oldest) break; // in insertion order, which is time order
        map.delete(key);
      }
    }
  }

  /** SUMO's error lines, e.g. `Error: … At line/column 4/131.` */
  private errors(): string {
    return this.stderr.split('\n').filter((l) => /error/i.test(l)).join(' ').trim();
  }

  private wake(): void {
    for (const w of this.waiting.splice(0)) w();
  }
}

/** Vehicles per hour entering at `entry` at a time: the built-in model's demand share at SUMO's lane capacity. */
function entryDemand(entry: Entry, t_ms: number): number {
  const perLane = entry.kind === 'freeway' ? LANE_VPH.freeway : LANE_VPH.signalised;
  return perLane * entry.lanes * entry.level * demandShare(t_ms);
}
