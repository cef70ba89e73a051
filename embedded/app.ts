/**
 * The whole system in one process, on embedded defaults: the simulated city's devices (simulators/city.ts: TMDD
 * feeds, serial sensors on PTY pairs, intersection cameras), the edge agents that read them speaking real MQTT
 * over loopback, the gateway's embedded broker, central, storage and the HTTP API. Only the adapters
 * differ from distributed mode: `Log` (in-process or Kafka) and the SQL driver (PGlite or PostgreSQL).
 *
 *   feeds, sensors, cameras ─▶ agents ─MQTT─▶ gateway (aedes) ─▶ Log ─▶ central ─▶ PGlite | PostgreSQL ─▶ HTTP :8080
 */
import { join } from 'node:path';
import type { Logger } from 'pino';
import { Registry, collectDefaultMetrics } from 'prom-client';
import { buildAgent, type Agent } from '../edge-agent/app.ts';
import { AgentConfigSchema } from '../edge-agent/config.ts';
import { linuxProbe } from '../edge-agent/health/system-probe.ts';
import { MemoryOutbox } from '../edge-agent/outbox/memory-outbox.ts';
import { FileSeqSource, MemorySeqSource } from '../edge-agent/outbox/seq-file.ts';
import { buildCentral, type Central } from '../central/app.ts';
import { CentralConfigSchema } from '../central/config.ts';
import { openPglite } from '../central/store/pglite-driver.ts';
import { openPostgres } from '../central/store/pg-driver.ts';
import type { SqlDriver } from '../central/store/sql.ts';
import { Store } from '../central/store/store.ts';
import { buildGateway, type Gateway } from '../gateway/app.ts';
import { hashSecret, MemoryDeviceRegistry, newSecret } from '../gateway/registry/devices.ts';
import { alignDown, MINUTE_MS, WINDOW_MS, type Station } from '../protocol/index.ts';
import { heldClock, type Clock } from '../platform/clock.ts';
import { KafkaLog } from '../platform/log/kafka-log.ts';
import type { Log } from '../platform/log/log.ts';
import { MemoryLog } from '../platform/log/memory-log.ts';
import { buildCity } from '../simulators/city.ts';
import { modelHistory } from '../simulators/history.ts';
import { SumoEngine } from '../simulators/sumo/engine.ts';
import { TrafficModel, type Incident, type WeatherSpell } from '../simulators/traffic-model.ts';
import { wacoNetwork } from '../simulators/waco/network.ts';
import { scaledNetwork } from '../simulators/waco/scale.ts';
import type { EmbeddedConfig } from './config.ts';

const DAY_MS = 86_400_000;

export const SITE = 'waco';

export interface EmbeddedDeps {
  clock: Clock;
  logger: Logger;
  version: string;
}

export interface EmbeddedSystem {
  start(): Promise<void>;
  stop(): Promise<void>;
  /** What `stop()` is waiting for while it runs ('agents', 'gateway', ...); empty before and after. */
  stopping(): string;
  httpUrl(): string;
  mqttUrl(): string;
  central(): Central;
  agents(): Agent[];
  registry: Registry;
  /** The simulated TMDD feed a board would poll, e.g. to run a real agent process against the simulator. */
  feedUrl(feed_id: string): string;
  /** Lets a further device log in to the embedded gateway (a real agent process beside the simulated ones). */
  addDevice(device_id: string, secret: string): Promise<void>;
}

/**
 * Two incidents a newcomer can watch: a crash closing every I-35 lane at 4th/5th Street from minute 15 (traffic
 * squeezes past on the shoulder at 2 % of capacity, and the queue spills back towards 12th Street), and a
 * stalled truck on Valley Mills Drive at Waco Drive from minute 30 (10 %). Severe enough to queue traffic at
 * any hour, night included.
 */
export function defaultIncidents(start_ms: number): Incident[] {
  return [
    { station_id: 'i35-nb-4th-5th', start_ms: start_ms + 15 * MINUTE_MS, duration_ms: 25 * MINUTE_MS, capacity_factor: 0.02 },
    { station_id: 'valley-mills-nb-waco-dr', start_ms: start_ms + 30 * MINUTE_MS, duration_ms: 20 * MINUTE_MS, capacity_factor: 0.1 },
  ];
}

/** `rain@30+60`: light rain (speeds and capacity −10 %) from minute 30 for an hour; `heavy-rain`: −20 %. */
export function weatherSpell(text: string, start_ms: number): WeatherSpell {
  const [kind, when] = text.split('@') as [string, string];
  const [from, minutes] = when.split('+').map(Number) as [number, number];
  return { start_ms: start_ms + from * MINUTE_MS, duration_ms: minutes * MINUTE_MS, speed_factor: kind === 'heavy-rain' ? 0.8 : 0.9 };
}

/**
 * The days before the start as final station windows (simulators/history.ts), a day at a time, unless the store
 * already holds them (a restart on the same --data-dir or database).
 */
async function writeHistory(store: Store, model: TrafficModel, stations: Station[], start_ms: number, days: number, logger: Logger): Promise<void> {
  await store.migrate(); // central migrates again when it starts, finding nothing left to do
  // The windows modelHistory writes: whole windows from the one holding `from_ms` to the one before the start's.
  const from_ms = alignDown(start_ms - days * DAY_MS, WINDOW_MS);
  const until_ms = alignDown(start_ms, WINDOW_MS);
  const expected = ((until_ms - from_ms) / WINDOW_MS) * stations.length;
  if ((await store.countFinalStationWindows(stations.map((s) => s.station_id), from_ms, until_ms)) >= expected) return;
  const t = performance.now();
  let day = 0;
  let stored = 0;
  for (const windows of modelHistory(model, stations, from_ms, start_ms)) {
    stored += await store.importFinalStationWindows(windows, start_ms);
    logger.info({ day: ++day, of: days }, `simulated history: day ${day} of ${days} stored`);
  }
  logger.info({ windows: stored, stations: stations.length, days, ms: Math.round(performance.now() - t) }, 'simulated history written: central starts with a profile of every road station');
}

export function buildEmbedded(config: EmbeddedConfig, deps: EmbeddedDeps): EmbeddedSystem {
  const { logger } = deps;
  // With SUMO, simulated time is held wherever SUMO has reached: it runs at the asked speed-up when SUMO keeps
  // up, and at SUMO's pace when it does not.
  let sumo: SumoEngine | null = null;
  const clock = config.engine === 'sumo' ? heldClock(deps.clock, () => sumo?.simulatedUntil() ?? -Infinity) : deps.clock;
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'wacoflow_process_' });
  // These three are gauges named like counters; promtool's lint rejects them, and the rest cover the process.
  for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) {
    registry.removeSingleMetric(`wacoflow_process_${name}`);
  }
  // Scenario minutes (incidents, weather, game, faults) count from the configured start, else from now.
  const start_ms = config.start === null ? clock.now() : Date.parse(config.start);
  const incidents = config.incidents === 'on' ? defaultIncidents(start_ms) : [];
  const network = config.stations === null ? wacoNetwork() : scaledNetwork(wacoNetwork(), config.stations);
  sumo =
    config.engine === 'sumo' ? new SumoEngine({ network, seed: config.seed, clock, logger: logger.child({ component: 'sumo' }), start_ms, incidents }) : null;
  const model =
    sumo ??
    new TrafficModel(config.seed, {
      incidents,
      weather: config.weather.map((w) => weatherSpell(w, start_ms)),
      games: config.game_kickoff_min === null ? [] : [{ kickoff_ms: start_ms + config.game_kickoff_min * MINUTE_MS, duration_ms: 210 * MINUTE_MS }],
      network,
    });
  const city = buildCity({ network: config.network, waco: network, model, clock, logger: logger.child({ component: 'simulator' }), host: '127.0.0.1', feed_port: config.feed_port, faults: config.faults, start_ms });
  const log: Log =
    config.kafka_brokers.length > 0
      ? new KafkaLog({
          brokers: config.kafka_brokers,
          client_id: 'wacoflow-embedded',
          onLog: (level, message, extra) => logger[level]({ component: 'kafka', ...extra }, message),
        })
      : new MemoryLog({ now: () => clock.now(), onHandlerError: (err) => logger.error({ err }, 'log handler failed') });
  const devices = new MemoryDeviceRegistry();
  let db: SqlDriver | null = null;
  let store: Store | null = null;
  let gateway: Gateway | null = null;
  let central: Central | null = null;
  let agents: Agent[] = [];
  let stopStage = ''; // what stop() waits for

  return {
    registry,
    httpUrl: () => {
      const a = central?.address();
      return a ? `http://${a.host}:${a.port}` : '';
    },
    mqttUrl: () => gateway?.url() ?? '',
    central: () => central!,
    agents: () => agents,
    feedUrl: (feed_id) => city.feedUrl(feed_id),
    addDevice: async (device_id, secret) => devices.add({ device_id, site: SITE, enabled: true, secret_hash: await hashSecret(secret) }),

    async start() {
      await sumo?.start(); // first: without SUMO installed it says how to install it before anything else starts
      await city.start();
      db = config.database_url ? await openPostgres(config.database_url) : await openPglite(config.data_dir ? join(config.data_dir, 'pglite') : undefined);
      store = new Store(db);
      if (config.history_days > 0 && model instanceof TrafficModel) {
        const road = new Set(network.stations.map((s) => s.station_id));
        await writeHistory(store, model, city.stations.filter((s) => road.has(s.station_id)), start_ms, config.history_days, logger.child({ component: 'simulator' }));
      }
      central = buildCentral(
        CentralConfigSchema.parse({
          grace_ms: config.grace_ms,
          // Check for finality about ten times per grace period (at least every simulated 5 s).
          finalize_interval_ms: Math.max(1_000, Math.min(5_000, Math.floor(config.grace_ms / 10) || 1_000)),
          http_host: config.http_host,
          http_port: config.http_port,
          partitions: { bins: config.bin_partitions, windows: config.bin_partitions },
          topic_prefix: config.topic_prefix,
        }),
        { log, store, clock, logger: logger.child({ component: 'central' }), registry, stations: city.stations,
          detectors: city.detectors, network: city.network, version: deps.version },
      );
      await central.start();

      const secrets = new Map<string, string>();
      for (const device_id of city.agentIds) {
        const secret = newSecret();
        secrets.set(device_id, secret);
        devices.add({ device_id, site: SITE, enabled: true, secret_hash: await hashSecret(secret) });
      }
      gateway = buildGateway({ mqtt_host: '127.0.0.1', mqtt_port: config.mqtt_port, topic_prefix: config.topic_prefix }, { log, registry: devices, clock, logger: logger.child({ component: 'gateway' }), metrics: registry });
      await gateway.start();

      agents = city.agents().map(({ device_id, inputs }) => {
        const agentConfig = AgentConfigSchema.parse({ device_id, site: SITE, mqtt_url: gateway!.url(), mqtt_password: secrets.get(device_id), inputs });
        const seq = config.data_dir ? new FileSeqSource(join(config.data_dir, 'agents', device_id, 'seq')) : new MemorySeqSource();
        return buildAgent(agentConfig, {
          clock, logger, version: deps.version, config_hash: 'embedded',
          outbox: new MemoryOutbox(seq),
          probe: linuxProbe(config.data_dir ?? '.'),
          clockState: () => ({ synced: true, offset_ms: 0 }),
        });
      });
      for (const a of agents) a.start();
    },

    async stop() {
      const stage = async (name: string, step: () => Promise<unknown> | undefined): Promise<void> => {
        stopStage = name;
        await step();
      };
      await stage('agents', () => Promise.allSettled(agents.map((a) => a.stop())));
      await stage('gateway', () => gateway?.stop());
      await stage('central', () => central?.stop());
      await stage('bins log', () => log.close());
      await stage('database', () => store?.close());
      await stage('simulated devices', () => city.stop());
      await stage('SUMO', () => sumo?.stop());
      stopStage = '';
    },

    stopping: () => stopStage,
  };
}
