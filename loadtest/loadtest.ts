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
 * - CPU and resident memory per component: WacoFlow's processes (target.ts: the gateway and central each in
 *   its own, as deployed, or the whole system in this one), the load agents, and the PostgreSQL server and Kafka
 *   broker when they run on this machine (platform/process-cpu.ts), from the first bin sent to the last counted.
 */
import { fork } from 'node:child_process';
import { join } from 'node:path';
import { SITE } from '../embedded/app.ts';
import { openPostgres } from '../central/store/pg-driver.ts';
import { cpuNow, cpuSince, localKafkaPid, peakResidentBytes, postmasterOf, type CpuSources } from '../platform/process-cpu.ts';
import { LANES, type DriveOptions, type DriveResult, type Percentiles, type Progress } from './agents.ts';
import { centralFigures, scrapeCentral, type CentralFigures } from './central-figures.ts';
import type { Metrics } from '../platform/prometheus-text.ts';
import { embeddedTarget, processesTarget, type Target } from './target.ts';

export { percentile, type Progress } from './agents.ts';

export type Topology = 'one-process' | 'processes';

export interface LoadtestOptions {
  agents: number;
  /** Bins per second, all agents together. */
  rate: number;
  duration_s: number;
  /** Detectors each agent reads (five lanes per station). */
  detectors_per_agent: number;
  kafka_brokers: string[];
  database_url: string | null;
  /** How WacoFlow runs (target.ts); `processes` needs Kafka and PostgreSQL. */
  topology: Topology;
  /** With `processes`: the gateway and central each write a V8 CPU profile into this folder as they stop. */
  cpu_prof_dir?: string | null;
  /** A narration line. */
  out: (line: string) => void;
  /** Called about once a second while bins are sent. */
  progress?: (p: Progress) => void;
}

/** One row of the CPU and memory table. */
export interface ComponentFigures {
  component: string;
  /** CPU seconds from the first bin sent until every bin was counted (or the wait gave up); null: not visible here. */
  cpu_s: number | null;
  cpu_us_per_bin: number | null;
  /** Peak resident memory over the whole run; null for servers this test did not start. */
  rss_max_bytes: number | null;
}

export interface LoadtestResult {
  agents: number;
  target_bins_per_s: number;
  duration_s: number;
  log: string;
  store: string;
  topology: string;
  bins_published: number;
  bins_acknowledged: number;
  bins_counted: number;
  lost: number;
  acknowledged_bins_per_s: number;
  latency_ms: DriveResult['latency_ms'];
  /** Publish → PUBACK, per message: the gateway and Kafka's part of the latency. */
  ack_latency_ms: DriveResult['ack_latency_ms'];
  /** Connecting every agent, before the first bin: not counted in `components`. */
  connect: { s: number; wacoflow_cpu_s: number };
  components: ComponentFigures[];
  /** All of WacoFlow's processes together. */
  wacoflow: { cpu_s: number; cpu_us_per_bin: number };
  /** Central's ingest transactions and event loop over the same span; CPU per transaction is the system's (WacoFlow and the servers). */
  central: CentralFigures;
}

const TSX = join(import.meta.dirname, '..', 'node_modules', 'tsx', 'dist', 'loader.mjs');
const GRACE_MS = 3_600_000;
const sum = (r: Record<string, number>): number => Object.values(r).reduce((a, b) => a + b, 0);

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
  const log = o.kafka_brokers.length > 0 ? `Kafka ${o.kafka_brokers.join(',')}` : 'in-process log';
  const store = o.database_url ? 'PostgreSQL' : 'PGlite';
  o.out(`starting WacoFlow (${log}, ${store}) and ${o.agents} agents × ${o.detectors_per_agent} detectors: ${o.rate.toLocaleString('en-US')} bins/s for ${o.duration_s} s`);
  const devices = Array.from({ length: o.agents }, (_, a) => ({ device_id: `${run}-a${a}`, secret: `${run}-a${a}-${Math.random().toString(36).slice(2)}` }));
  const targetOptions = {
    run, devices, stations_per_device: Math.ceil(o.detectors_per_agent / LANES), lanes: LANES,
    kafka_brokers: o.kafka_brokers, database_url: o.database_url, grace_ms: GRACE_MS, cpu_prof_dir: o.cpu_prof_dir ?? null, out: o.out,
  };
  const target: Target = o.topology === 'processes' ? await processesTarget(targetOptions) : await embeddedTarget(targetOptions);
  o.out(`WacoFlow: ${target.topology}`);
  try {
    const drive: DriveOptions = { run, site: SITE, mqtt_url: target.mqtt_url, http_url: target.http_url, devices, rate: o.rate, duration_s: o.duration_s, detectors_per_agent: o.detectors_per_agent };
    const servers = await localServers(o.database_url, o.kafka_brokers.length > 0);
    // CPU is measured from the moment every agent is connected: connecting checks each agent's credentials with a
    // deliberately slow hash (about 50 ms of CPU each), a cost of the connection, reported on its own line.
    let [servers0, wacoflow0] = [cpuNow(servers), target.cpu()];
    let central0: Metrics | null = null;
    const connect = { s: 0, wacoflow_cpu_s: 0 };
    const child = fork(join(import.meta.dirname, 'agents-process.ts'), [], { execArgv: ['--import', TSX], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const result = await new Promise<DriveResult>((resolve, reject) => {
      child.on('message', (m: { connected?: number; progress?: Progress; result?: DriveResult; error?: string }) => {
        if (m.connected !== undefined) {
          [connect.s, connect.wacoflow_cpu_s] = [m.connected, sum(target.cpu()) - sum(wacoflow0)];
          o.out(`${o.agents.toLocaleString('en-US')} agents connected in ${connect.s.toFixed(1)} s (WacoFlow CPU ${connect.wacoflow_cpu_s.toFixed(1)} s, mostly checking credentials); sending`);
          // Central's counters as the first bin goes, with the CPU figures they are set against.
          scrapeCentral(target.http_url).then((scraped) => {
            [central0, servers0, wacoflow0] = [scraped, cpuNow(servers), target.cpu()];
            child.send('go');
          }, reject);
        }
        if (m.progress) o.progress?.(m.progress);
        if (m.result) resolve(m.result);
        if (m.error) reject(new Error(`load agents: ${m.error}`));
      });
      child.on('exit', (code) => reject(new Error(`load agents exited with code ${code} before reporting`)));
      child.send(drive);
    });
    const wacoflow1 = target.cpu();
    const serverCpu = cpuSince(servers0, servers);
    const central1 = await scrapeCentral(target.http_url);
    const peak = target.peakRss();
    const perBin = (s: number | null) => (s === null ? null : (s * 1e6) / Math.max(1, result.acknowledged));
    const row = (component: string, cpu_s: number | null, rss_max_bytes: number | null): ComponentFigures => ({ component, cpu_s, cpu_us_per_bin: perBin(cpu_s), rss_max_bytes });
    const wacoflow_s = sum(wacoflow1) - sum(wacoflow0);
    return {
      agents: o.agents,
      target_bins_per_s: o.rate,
      duration_s: o.duration_s,
      log,
      store,
      topology: target.topology,
      bins_published: result.published,
      bins_acknowledged: result.acknowledged,
      bins_counted: result.counted,
      lost: Math.max(0, result.acknowledged - result.counted),
      acknowledged_bins_per_s: result.acknowledged / result.send_s,
      latency_ms: result.latency_ms,
      ack_latency_ms: result.ack_latency_ms,
      connect,
      components: [
        ...Object.keys(wacoflow1).map((name) => row(name, wacoflow1[name]! - (wacoflow0[name] ?? 0), peak[name] ?? null)),
        row('load agents', result.cpu_s, result.rss_bytes_max),
        ...(serverCpu.kafka === null ? [] : [row('Kafka broker', serverCpu.kafka, peakResidentBytes(servers.kafka!))]),
        ...(serverCpu.postgres === null ? [] : [row('PostgreSQL', serverCpu.postgres, null)]),
      ],
      wacoflow: { cpu_s: wacoflow_s, cpu_us_per_bin: perBin(wacoflow_s)! },
      central: centralFigures(central0!, central1, wacoflow_s + (serverCpu.kafka ?? 0) + (serverCpu.postgres ?? 0)),
    };
  } finally {
    await target.stop();
  }
}

/** A count or a rounded figure, with thousands separated. */
const n = (x: number): string => Math.round(x).toLocaleString('en-US');

function latencyLine(l: Percentiles | null, of: string): string {
  return l ? `p50 ${n(l.p50)} ms, p95 ${n(l.p95)} ms, p99 ${n(l.p99)} ms, max ${n(l.max)} ms (${n(l.measured)} ${of})` : 'none measured';
}

function centralLine(c: CentralFigures): string {
  if (c.transactions === 0 || !c.transaction_ms) return 'none';
  const ms = (x: number) => (x === Infinity ? 'over the largest bucket' : `at most ${x} ms`);
  return `${n(c.transactions)}, ${c.bins_per_transaction!.toFixed(1)} bins each; ` +
    `mean ${c.transaction_ms.mean.toFixed(1)} ms, p50 ${ms(c.transaction_ms.p50_at_most)}, p95 ${ms(c.transaction_ms.p95_at_most)}; ` +
    `${c.cpu_ms_per_transaction!.toFixed(1)} ms of CPU each (WacoFlow and the servers)`;
}

/** The result as a table for people. */
export function resultTable(r: LoadtestResult): string {
  const rows: [string, string][] = [
    ['agents', `${n(r.agents)} (each its own MQTT connection and credentials)`],
    ['pipeline', `${r.log}, ${r.store}; WacoFlow in ${r.topology}`],
    ['target', `${n(r.target_bins_per_s)} bins/s for ${r.duration_s} s`],
    ['acknowledged', `${n(r.bins_acknowledged)} bins, ${n(r.acknowledged_bins_per_s)} bins/s`],
    ['counted in windows', `${n(r.bins_counted)} bins`],
    ['lost', `${n(r.lost)}`],
    ['latency publish → window', latencyLine(r.latency_ms, 'bins')],
    ['  of it, publish → PUBACK', latencyLine(r.ack_latency_ms, 'messages')],
    ['connecting the agents', `${r.connect.s.toFixed(1)} s, WacoFlow CPU ${r.connect.wacoflow_cpu_s.toFixed(1)} s (credential checks; not counted below)`],
    ...r.components.map((c): [string, string] => [
      `CPU, ${c.component}`,
      `${c.cpu_s === null ? '—' : `${c.cpu_s.toFixed(1)} s, ${c.cpu_us_per_bin!.toFixed(1)} µs per bin`}${c.rss_max_bytes === null ? '' : `; peak resident ${n(c.rss_max_bytes / 1_048_576)} MiB`}`,
    ]),
    ['CPU, WacoFlow in all', `${r.wacoflow.cpu_s.toFixed(1)} s, ${r.wacoflow.cpu_us_per_bin.toFixed(1)} µs per bin`],
    ['central transactions', centralLine(r.central)],
    ['central event-loop delay', r.central.event_loop_delay_ms ? `p99 ${r.central.event_loop_delay_ms.p99.toFixed(1)} ms, max ${r.central.event_loop_delay_ms.max.toFixed(1)} ms` : '—'],
  ];
  const w = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${k.padEnd(w)}  ${v}`).join('\n');
}
