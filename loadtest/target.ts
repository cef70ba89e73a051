/**
 * What the load test loads: WacoFlow, started two ways.
 *
 * - `embeddedTarget`: the whole system in this process (the gateway's broker, central, the nine-station core
 *   simulation), on the in-process log and PGlite, or on Kafka and PostgreSQL: how `wacoflow sim` runs.
 * - `processesTarget`: with Kafka and PostgreSQL, the gateway and central each in a process of their own, run
 *   from the CLI with config files as an operator runs them (`wacoflow gateway`, `wacoflow central`): how a
 *   city deploys them, and each component's CPU and memory is its own.
 *
 * Either way the agents connect to `mqtt_url` with the credentials they were given, and the observer reads
 * central's results from `http_url`.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { buildEmbedded, SITE } from '../embedded/app.ts';
import { EmbeddedConfigSchema } from '../embedded/config.ts';
import { newStoredDevice, writeRegistryFile } from '../gateway/registry/file-registry.ts';
import { systemClock } from '../platform/clock.ts';
import { peakResidentBytes, treeSeconds } from '../platform/process-cpu.ts';
import { Proc } from '../platform/proc.ts';

export interface Device {
  device_id: string;
  secret: string;
}

export interface Target {
  /** What runs where, for the report. */
  readonly topology: string;
  readonly mqtt_url: string;
  readonly http_url: string;
  /** CPU seconds so far of each of WacoFlow's processes, by component. */
  cpu(): Record<string, number>;
  /** Peak resident memory so far of each of WacoFlow's processes, by component. */
  peakRss(): Record<string, number>;
  stop(): Promise<void>;
}

export interface TargetOptions {
  run: string;
  devices: Device[];
  /** The agents' stations, `<device_id>-s<k>` with `lanes` detectors each: central's inventory. */
  stations_per_device: number;
  lanes: number;
  kafka_brokers: string[];
  database_url: string | null;
  /** Windows stay provisional this long past their end (the run is about updates, not finalisation). */
  grace_ms: number;
  /** Separate processes only: each writes a V8 CPU profile into this folder when it stops. */
  cpu_prof_dir: string | null;
  out: (line: string) => void;
}

const BIN = join(import.meta.dirname, '..', 'bin', 'wacoflow.js');
const ownCpu = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

export async function embeddedTarget(o: TargetOptions): Promise<Target> {
  const system = buildEmbedded(
    EmbeddedConfigSchema.parse({
      network: 'core', incidents: 'off', http_port: 0, speedup: 1, grace_ms: o.grace_ms,
      kafka_brokers: o.kafka_brokers, database_url: o.database_url, topic_prefix: o.kafka_brokers.length > 0 ? o.run : null,
    }),
    { clock: systemClock, logger: pino({ level: process.env.WACOFLOW_LOG_LEVEL ?? 'warn' }, pino.destination(2)), version: 'loadtest' },
  );
  await system.start();
  await Promise.all(o.devices.map((d) => system.addDevice(d.device_id, d.secret)));
  return {
    topology: 'one process: gateway, central and the core simulation',
    mqtt_url: system.mqttUrl(),
    http_url: system.httpUrl(),
    cpu: () => ({ wacoflow: ownCpu() }),
    peakRss: () => ({ wacoflow: peakResidentBytes(process.pid) ?? process.memoryUsage().rss }),
    stop: () => system.stop(),
  };
}

/** The URL a ready line logs under `field` (the processes log JSON lines). */
function loggedUrl(proc: Proc, ready: string, field: string): string {
  const line = proc.lineWith(ready);
  const url = line ? (JSON.parse(line) as Record<string, unknown>)[field] : null;
  if (typeof url !== 'string') throw new Error(`${proc.name} logged no ${field} address in its "${ready}" line: ${line}`);
  return url;
}

export async function processesTarget(o: TargetOptions): Promise<Target> {
  if (o.kafka_brokers.length === 0 || o.database_url === null) throw new Error('separate processes need Kafka and PostgreSQL');
  const dir = mkdtempSync(join(tmpdir(), 'wacoflow-loadtest-'));
  writeRegistryFile(join(dir, 'devices.json'), await Promise.all(o.devices.map((d) => newStoredDevice({ ...d, site: SITE }))));
  const stations = o.devices.flatMap((d, a) => Array.from({ length: o.stations_per_device }, (_, k) => ({
    station_id: `${d.device_id}-s${k}`, name: `load station ${a}.${k}`, kind: 'freeway', corridor_id: null,
    lat: 31.5 + (a % 100) * 0.001, lon: -97.1 - k * 0.001, lanes: o.lanes, free_flow_kmh: 105,
  })));
  // JSON is YAML: the config files are written as JSON.
  writeFileSync(join(dir, 'inventory.yaml'), JSON.stringify({ stations }));
  writeFileSync(join(dir, 'gateway.yaml'), JSON.stringify({
    mqtt_host: '127.0.0.1', mqtt_port: 0, registry_file: join(dir, 'devices.json'), kafka_brokers: o.kafka_brokers, topic_prefix: o.run,
  }));
  writeFileSync(join(dir, 'central.yaml'), JSON.stringify({
    kafka_brokers: o.kafka_brokers, database_url: o.database_url, inventory_file: 'inventory.yaml', group_id: `${o.run}-central`,
    topic_prefix: o.run, http_port: 0, grace_ms: o.grace_ms,
  }));
  o.out(`gateway and central: their own processes, config and logs in ${dir}`);
  const profiling = o.cpu_prof_dir ? ['--cpu-prof', '--cpu-prof-dir', o.cpu_prof_dir] : [];
  const started: Proc[] = [];
  try {
    const gateway = new Proc('gateway', [...profiling, BIN, 'gateway', '--config', join(dir, 'gateway.yaml')], join(dir, 'gateway.log'));
    started.push(gateway);
    await gateway.ready('gateway ready');
    const central = new Proc('central', [...profiling, BIN, 'central', '--config', join(dir, 'central.yaml')], join(dir, 'central.log'));
    started.push(central);
    await central.ready('central ready', 120_000);
    const procs = { gateway, central };
    const each = (f: (pid: number) => number | null): Record<string, number> =>
      Object.fromEntries(Object.entries(procs).map(([name, p]) => [name, f(p.pid) ?? 0]));
    return {
      topology: `separate processes: gateway (pid ${gateway.pid}), central (pid ${central.pid})`,
      mqtt_url: loggedUrl(gateway, 'gateway ready', 'mqtt'),
      http_url: loggedUrl(central, 'central ready', 'http'),
      cpu: () => each(treeSeconds),
      peakRss: () => each(peakResidentBytes),
      // The gateway first, so nothing new arrives while central finishes what it has.
      stop: async () => {
        await gateway.stop();
        await central.stop();
      },
    };
  } catch (err) {
    await Promise.all(started.map((p) => p.stop()));
    throw err;
  }
}
