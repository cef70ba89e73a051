/**
 * The simulated devices of simulator mode and the edge agents that read them, for either network:
 *
 * - `core`: nine stations on two TMDD 3.03 feeds (light runs and tests);
 * - `city`: the whole Waco network of network.yaml — TMDD 3.03 and Iowa SIMS feeds over HTTP, Wavetronix
 *   SS105 and SS125 sensors on real serial lines (socat PTY pairs), and a camera per signalised intersection.
 *
 * It also gives central its inventory: every station, and every detector id the drivers will report.
 */
import type { Logger } from 'pino';
import { alignDown, type Station } from '../protocol/index.ts';
import type { Clock, Cancel } from '../platform/clock.ts';
import { openSerial, type SerialLink } from '../edge-agent/inputs/serial/link.ts';
import { buildCameraServer, type CameraServer } from './camera/server.ts';
import { FaultPlan, parseFault, type FaultTarget, type LaneSource } from './faults.ts';
import { lineFaults } from './serial/line-faults.ts';
import { ptyPair, socatAvailable, type PtyPair } from './serial/pty-pair.ts';
import { ss105Device } from './serial/ss105-device.ts';
import { ss125Device } from './serial/ss125-device.ts';
import { buildFeedServer, type FeedServer } from './tmdd-feed/server.ts';
import { CORE_FEEDS, CORE_STATIONS, detectorIds, type Feed } from './waco/core.ts';
import { asStation, MOVEMENTS, wacoNetwork, type RoadStation, type WacoNetwork } from './waco/network.ts';

/** The detectors' collection interval: TMDD feeds and serial sensors. */
export const FEED_INTERVAL_MS = 20_000;
/** Cameras count per minute. */
export const CAMERA_INTERVAL_MS = 60_000;

export interface CityOptions {
  network: 'city' | 'core';
  /** The city's network (default: network.yaml's; `scaledNetwork` grows it for sizing runs). */
  waco?: WacoNetwork;
  /** Where the devices' numbers come from: the built-in traffic model, or SUMO. */
  model: LaneSource;
  clock: Clock;
  logger: Logger;
  host: string;
  feed_port: number;
  /** `TARGET:KIND[@START[+MINUTES]]` (simulators/faults.ts); refused with the choices named when wrong. */
  faults?: string[];
  /** Simulated time fault minutes count from (default: the clock's time when the city is built). */
  start_ms?: number;
}

export interface SimulatedAgent {
  device_id: string;
  /** Agent input configurations (before defaults), valid once the city has started. */
  inputs: Record<string, unknown>[];
}

export interface SimulatedCity {
  /** Central's inventory: the stations and the detector ids the drivers report for them. */
  stations: Station[];
  detectors: { detector_id: string; station_id: string }[];
  /** The network's geometry for maps (the whole city only: the core has none). */
  network: {
    corridors: { corridor_id: string; name: string; path: [number, number][] }[];
    intersections: { intersection_id: string; name: string; lat: number; lon: number; approaches: { approach: string; station_id: string }[] }[];
  };
  /** Agent device ids, known before start. */
  agentIds: string[];
  start(): Promise<void>;
  /** The agents and their inputs, after start (URLs and serial paths exist only then). */
  agents(): SimulatedAgent[];
  feedUrl(feed_id: string): string;
  stop(): Promise<void>;
}

interface SerialSetup {
  name: string;
  agent: string;
  driver: 'ss105-serial' | 'ss125-serial';
  stations: RoadStation[];
}

export function buildCity(o: CityOptions): SimulatedCity {
  const net = o.waco ?? wacoNetwork();
  const city = o.network === 'city';
  const serialUsable = socatAvailable();
  const inputs = city ? net.inputs : [];
  const serial: SerialSetup[] = inputs
    .filter((i) => i.driver !== 'tmdd-http')
    .map((i) => ({ name: i.name, agent: i.agent, driver: i.driver as SerialSetup['driver'], stations: net.stations.filter((s) => s.input === i.name) }));
  const feeds: Feed[] = city
    ? inputs
        .filter((i) => i.driver === 'tmdd-http')
        .map((i) => ({ feed_id: i.name, organization_id: i.organization_id ?? i.name, dialect: i.dialect, station_ids: net.stations.filter((s) => s.input === i.name).map((s) => s.station_id) }))
    : CORE_FEEDS;
  const feedAgent = new Map(city ? inputs.map((i) => [i.name, i.agent]) : CORE_FEEDS.map((f) => [f.feed_id, `agent-${f.feed_id}`]));
  const iowa = new Set(feeds.filter((f) => f.dialect === 'iowa-sims').flatMap((f) => f.station_ids));

  const roadStations: Station[] = city
    ? net.stations.filter((s) => serialUsable || !serial.some((x) => x.name === s.input)).map(asStation)
    : CORE_STATIONS;
  const stations = city ? [...roadStations, ...net.approachStations] : roadStations;
  const detectors = [
    ...roadStations.flatMap((s) => (iowa.has(s.station_id) ? detectorIds(s).map((d) => d.replace(/-l(\d+)$/, ':l$1')) : detectorIds(s)).map((detector_id) => ({ detector_id, station_id: s.station_id }))),
    ...(city ? net.approachStations.flatMap((s) => MOVEMENTS.map((m) => ({ detector_id: `${s.station_id}-${m}`, station_id: s.station_id }))) : []),
  ];
  const cameraAgents = city ? [...new Set(net.intersections.map((x) => x.cabinet))] : [];
  const agentIds = [...new Set([...feeds.map((f) => feedAgent.get(f.feed_id)!), ...(serialUsable ? serial.map((s) => s.agent) : []), ...cameraAgents])];

  const targets = new Map<string, FaultTarget>([
    ...feeds.map((f) => [f.feed_id, 'http'] as const),
    ...serial.map((x) => [x.name, 'serial'] as const),
    ...(city ? net.intersections.map((x) => [`camera-${x.intersection_id}`, 'camera'] as const) : []),
    ...roadStations.map((st) => [st.station_id, 'station'] as const),
  ]);
  const plan = new FaultPlan((o.faults ?? []).map((f) => parseFault(f, targets)), o.start_ms ?? o.clock.now());
  const lanes = plan.lanes(o.model);

  const feedServer: FeedServer = buildFeedServer({
    feeds, stations: roadStations, model: lanes, faults: plan, clock: o.clock, interval_ms: FEED_INTERVAL_MS, history_intervals: 9,
    time_zone: 'America/Chicago', host: o.host, port: o.feed_port,
  });
  const cameras: CameraServer | null = city
    ? buildCameraServer({
        intersections: net.intersections, stations: new Map(net.approachStations.map((s) => [s.station_id, s])), model: lanes, faults: plan, clock: o.clock,
        interval_ms: CAMERA_INTERVAL_MS, history_intervals: 5, host: o.host, port: 0,
      })
    : null;
  const lines: { setup: SerialSetup; pty: PtyPair; device: SerialLink; stopPush: Cancel | null }[] = [];
  let agents: SimulatedAgent[] = [];

  return {
    stations,
    detectors,
    network: {
      corridors: city ? net.corridors.map(({ corridor_id, name, path }) => ({ corridor_id, name, path })) : [],
      intersections: city ? net.intersections.map((x) => ({ intersection_id: x.intersection_id, name: x.name, lat: x.lat, lon: x.lon, approaches: x.approaches.map(({ approach, station_id }) => ({ approach, station_id })) })) : [],
    },
    agentIds,
    feedUrl: (feed_id) => `${feedServer.feedUrl(feed_id)}/detectorDataMsg`,
    agents: () => agents,

    async start() {
      await feedServer.start();
      await cameras?.start();
      if (city && !serialUsable && serial.length > 0) {
        o.logger.info({ left_out: serial.map((s) => s.name) }, `socat is not installed: the ${serial.reduce((n, s) => n + s.stations.length, 0)} stations on serial lines are left out (apt-get install socat, or brew install socat, to include them)`);
      }
      for (const setup of serialUsable ? serial : []) {
        const pty = await ptyPair();
        const device = await openSerial({ path: pty.b, baud_rate: 9600, data_bits: 8, parity: 'none', stop_bits: 1 });
        const drops = new Map(setup.stations.map((s, i) => [i + 1, asStation(s)]));
        let stopPush: Cancel | null = null;
        const faults = lineFaults(plan, setup.name, () => o.clock.now());
        if (setup.driver === 'ss105-serial') {
          ss105Device({ link: device, model: lanes, clock: o.clock, drops, interval_ms: FEED_INTERVAL_MS, faults });
        } else {
          // The SmartSensor HD pushes each interval as it completes.
          const sensor = ss125Device({ link: device, model: lanes, clock: o.clock, drops, interval_ms: FEED_INTERVAL_MS, faults });
          let pushed = alignDown(o.clock.now(), FEED_INTERVAL_MS);
          stopPush = o.clock.every(FEED_INTERVAL_MS / 4, () => {
            for (let end = pushed + FEED_INTERVAL_MS; end <= alignDown(o.clock.now(), FEED_INTERVAL_MS); end += FEED_INTERVAL_MS) {
              pushed = end;
              void sensor.push(end).catch((err: unknown) => o.logger.debug({ err, line: setup.name }, 'simulated sensor push failed'));
            }
          });
        }
        lines.push({ setup, pty, device, stopPush });
      }

      const byAgent = new Map<string, Record<string, unknown>[]>(agentIds.map((id) => [id, []]));
      for (const f of feeds) {
        byAgent.get(feedAgent.get(f.feed_id)!)!.push({
          driver: 'tmdd-http', name: f.feed_id, url: `${feedServer.feedUrl(f.feed_id)}/detectorDataMsg`, poll_interval_ms: FEED_INTERVAL_MS, sample_interval_ms: FEED_INTERVAL_MS,
        });
      }
      for (const { setup, pty } of lines) {
        const drops = setup.stations.map((s, i) => ({ drop: i + 1, station_id: s.station_id }));
        byAgent.get(setup.agent)!.push(
          setup.driver === 'ss105-serial'
            ? { driver: 'ss105-serial', name: setup.name, line: { path: pty.a, baud_rate: 9600 }, drops, interval_ms: FEED_INTERVAL_MS, poll_interval_ms: FEED_INTERVAL_MS }
            : { driver: 'ss125-serial', name: setup.name, line: { path: pty.a, baud_rate: 9600 }, mode: 'push', drops, interval_ms: FEED_INTERVAL_MS, speed_unit: 'mph', timestamp_marks: 'end', poll_interval_ms: FEED_INTERVAL_MS },
        );
      }
      for (const x of city ? net.intersections : []) {
        byAgent.get(x.cabinet)!.push({
          driver: 'camera-http', name: `camera-${x.intersection_id}`, url: cameras!.countsUrl(x.intersection_id), poll_interval_ms: FEED_INTERVAL_MS,
          interval_ms: CAMERA_INTERVAL_MS, station_template: `${x.intersection_id}-{approach}`,
        });
      }
      agents = [...byAgent].map(([device_id, list]) => ({ device_id, inputs: list }));
    },

    async stop() {
      for (const l of lines) {
        l.stopPush?.();
        await l.device.close();
        l.pty.close();
      }
      await cameras?.stop();
      await feedServer.stop();
    },
  };
}
