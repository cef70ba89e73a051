/**
 * `wacoflow loadtest`: many simulated agents, each a real MQTT connection with its own credentials, publishing
 * bins at a set total rate into a running WacoFlow (the embedded system of `wacoflow sim --network core`, on
 * the in-process log and PGlite, or on Kafka and PostgreSQL). WacoFlow runs in this process; the agents and
 * the observer run in a child process (agents.ts), so each side's CPU is its own. It reports:
 *
 * - throughput: bins acknowledged by the gateway (PUBACK, so the log holds them) per second;
 * - latency: from a bin's publish to the moment central's window for its detector, read through the API's
 *   event stream (/api/events), first counts it;
 * - loss: every acknowledged bin must be counted by the windows central committed (checked from the
 *   windows it published, not assumed from the acknowledgements);
 * - CPU and resident memory: WacoFlow (gateway, central, the nine-station core simulation), the load agents,
 *   and the PostgreSQL server and Kafka broker when they run on this machine (platform/process-cpu.ts).
 */
import { fork } from 'node:child_process';
import { join } from 'node:path';
import pino from 'pino';
import { buildEmbedded, SITE } from '../embedded/app.ts';
import { EmbeddedConfigSchema } from '../embedded/config.ts';
import { openPostgres } from '../central/store/pg-driver.ts';
import { systemClock } from '../platform/clock.ts';
import { cpuNow, cpuSince, localKafkaPid, postmasterOf, type CpuSources } from '../platform/process-cpu.ts';
import type { DriveOptions, DriveResult, Progress } from './agents.ts';

export { percentile, type Progress } from './agents.ts';

export interface LoadtestOptions {
  agents: number;
  /** Bins per second, all agents together. */
  rate: number;
  duration_s: number;
  /** Detectors each agent reads (five lanes per station). */
  detectors_per_agent: number;
  kafka_brokers: string[];
  database_url: string | null;
  /** A narration line. */
  out: (line: string) => void;
  /** Called about once a second while bins are sent. */
  progress?: (p: Progress) => void;
}

export interface LoadtestResult {
  agents: number;
  target_bins_per_s: number;
  duration_s: number;
  log: string;
  store: string;
  bins_published: number;
  bins_acknowledged: number;
  bins_counted: number;
  lost: number;
  acknowledged_bins_per_s: number;
  latency_ms: DriveResult['latency_ms'];
  /** Connecting every agent, before the first bin: not counted in `cpu`. */
  connect: { s: number; wacoflow_cpu_s: number };
  /** From the first bin sent until every bin is counted (or the wait for them gave up). */
  cpu: { wacoflow_s: number; wacoflow_us_per_bin: number; agents_s: number; kafka_s: number | null; postgres_s: number | null };
  rss_bytes_max: { wacoflow: number; agents: number };
}

const TSX = join(import.meta.dirname, '..', 'node_modules', 'tsx', 'dist', 'loader.mjs');

/**
 * The local PostgreSQL server behind `database_url` (through a backend's pid) and the Kafka broker that
 * `npm run services` started, for their CPU; null for servers elsewhere, whose CPU this machine cannot see.
 */
async function localServers(database_url: string | null, kafka: boolean): Promise<CpuSources> {
  let postgres: number | null = null;
  if (database_url) {
    const db = await openPostgres(database_url);
    try {
      const { rows } = await db.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
      postgres = postmasterOf(rows[0]!.pid);
    } finally {
      await db.close();
    }
  }
  const services = process.env.WACOFLOW_SERVICES_DIR ?? join(import.meta.dirname, '..', '.services');
  return { central: null, postgres, kafka: kafka ? localKafkaPid(join(services, 'kafka-run', 'kafka.pid')) : null };
}

export async function runLoadtest(o: LoadtestOptions): Promise<LoadtestResult> {
  const run = `lt${Date.now().toString(36)}`;
  const system = buildEmbedded(
    EmbeddedConfigSchema.parse({
      network: 'core', incidents: 'off', http_port: 0, speedup: 1, grace_ms: 3_600_000,
      kafka_brokers: o.kafka_brokers, database_url: o.database_url, topic_prefix: o.kafka_brokers.length > 0 ? run : null,
    }),
    { clock: systemClock, logger: pino({ level: process.env.WACOFLOW_LOG_LEVEL ?? 'warn' }, pino.destination(2)), version: 'loadtest' },
  );
  const log = o.kafka_brokers.length > 0 ? `Kafka ${o.kafka_brokers.join(',')}` : 'in-process log';
  const store = o.database_url ? 'PostgreSQL' : 'PGlite';
  o.out(`starting WacoFlow (${log}, ${store}) and ${o.agents} agents × ${o.detectors_per_agent} detectors: ${o.rate.toLocaleString('en-US')} bins/s for ${o.duration_s} s`);
  await system.start();
  try {
    const devices = Array.from({ length: o.agents }, (_, a) => ({ device_id: `${run}-a${a}`, secret: `${run}-a${a}-${Math.random().toString(36).slice(2)}` }));
    for (const d of devices) await system.addDevice(d.device_id, d.secret);
    const drive: DriveOptions = { run, site: SITE, mqtt_url: system.mqttUrl(), http_url: system.httpUrl(), devices, rate: o.rate, duration_s: o.duration_s, detectors_per_agent: o.detectors_per_agent };

    const servers = await localServers(o.database_url, o.kafka_brokers.length > 0);
    // CPU is measured from the moment every agent is connected: connecting checks each agent's credentials with a
    // deliberately slow hash (about 50 ms of CPU each), a cost of the connection, reported on its own line.
    let cpu0 = cpuNow(servers);
    const connect = { s: 0, wacoflow_cpu_s: 0 };
    const started = Date.now();
    let rssMax = process.memoryUsage().rss;
    const child = fork(join(import.meta.dirname, 'agents-process.ts'), [], { execArgv: ['--import', TSX], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const result = await new Promise<DriveResult>((resolve, reject) => {
      child.on('message', (m: { connected?: true; progress?: Progress; result?: DriveResult; error?: string }) => {
        if (m.connected) {
          [connect.s, connect.wacoflow_cpu_s] = [(Date.now() - started) / 1000, cpuSince(cpu0, servers).central!];
          cpu0 = cpuNow(servers);
          o.out(`${o.agents.toLocaleString('en-US')} agents connected in ${connect.s.toFixed(1)} s (WacoFlow CPU ${connect.wacoflow_cpu_s.toFixed(1)} s, mostly checking credentials); sending`);
          child.send('go');
        }
        if (m.progress) {
          rssMax = Math.max(rssMax, process.memoryUsage().rss);
          o.progress?.(m.progress);
        }
        if (m.result) resolve(m.result);
        if (m.error) reject(new Error(`load agents: ${m.error}`));
      });
      child.on('exit', (code) => reject(new Error(`load agents exited with code ${code} before reporting`)));
      child.send(drive);
    });
    const cpu = cpuSince(cpu0, servers);
    const wacoflow_s = cpu.central!;
    return {
      agents: o.agents,
      target_bins_per_s: o.rate,
      duration_s: o.duration_s,
      log,
      store,
      bins_published: result.published,
      bins_acknowledged: result.acknowledged,
      bins_counted: result.counted,
      lost: Math.max(0, result.acknowledged - result.counted),
      acknowledged_bins_per_s: result.acknowledged / result.send_s,
      latency_ms: result.latency_ms,
      connect,
      cpu: {
        wacoflow_s,
        wacoflow_us_per_bin: (wacoflow_s * 1e6) / Math.max(1, result.acknowledged),
        agents_s: result.cpu_s,
        kafka_s: cpu.kafka,
        postgres_s: cpu.postgres,
      },
      rss_bytes_max: { wacoflow: Math.max(rssMax, process.memoryUsage().rss), agents: result.rss_bytes_max },
    };
  } finally {
    await system.stop();
  }
}

/** The result as a table for people. */
export function resultTable(r: LoadtestResult): string {
  const n = (x: number) => Math.round(x).toLocaleString('en-US');
  const rows: [string, string][] = [
    ['agents', `${n(r.agents)} (each its own MQTT connection and credentials)`],
    ['pipeline', `${r.log}, ${r.store}`],
    ['target', `${n(r.target_bins_per_s)} bins/s for ${r.duration_s} s`],
    ['acknowledged', `${n(r.bins_acknowledged)} bins, ${n(r.acknowledged_bins_per_s)} bins/s`],
    ['counted in windows', `${n(r.bins_counted)} bins`],
    ['lost', `${n(r.lost)}`],
    ['latency publish → window', r.latency_ms ? `p50 ${n(r.latency_ms.p50)} ms, p95 ${n(r.latency_ms.p95)} ms, p99 ${n(r.latency_ms.p99)} ms, max ${n(r.latency_ms.max)} ms (${n(r.latency_ms.measured)} bins)` : 'none measured'],
    ['connecting the agents', `${r.connect.s.toFixed(1)} s, WacoFlow CPU ${r.connect.wacoflow_cpu_s.toFixed(1)} s (credential checks; not counted below)`],
    ['CPU, WacoFlow', `${r.cpu.wacoflow_s.toFixed(1)} s, ${r.cpu.wacoflow_us_per_bin.toFixed(1)} µs per bin (gateway, central, the core simulation: one process)`],
    ['CPU, load agents', `${r.cpu.agents_s.toFixed(1)} s (their own process)`],
    ['CPU, Kafka broker', r.cpu.kafka_s === null ? '—' : `${r.cpu.kafka_s.toFixed(1)} s`],
    ['CPU, PostgreSQL', r.cpu.postgres_s === null ? '—' : `${r.cpu.postgres_s.toFixed(1)} s`],
    ['resident memory, max', `WacoFlow ${n(r.rss_bytes_max.wacoflow / 1_048_576)} MiB, load agents ${n(r.rss_bytes_max.agents / 1_048_576)} MiB`],
  ];
  const w = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${k.padEnd(w)}  ${v}`).join('\n');
}
