/**
 * `wacoflow loadtest`: many simulated agents, each a real MQTT connection with its own credentials, publishing
 * bins at a set total rate into a running WacoFlow (the embedded system of `wacoflow sim --network core`, on
 * the in-process log and PGlite, or on Kafka and PostgreSQL). It measures, from outside the pipeline:
 *
 * - throughput: bins acknowledged by the gateway (PUBACK, so the log holds them) per second;
 * - latency: from a bin's publish to the moment central's window for its detector, read through the API's
 *   event stream (/api/events), first counts it. Every bin carries one vehicle, so a detector window's volume
 *   is the number of its bins folded in;
 * - loss: every acknowledged bin must be counted by the windows central committed (checked from the
 *   windows it published, not assumed from the acknowledgements);
 * - CPU and resident memory: this process (gateway, central and the load agents share it), and the local
 *   Kafka broker and PostgreSQL server when they run on this machine.
 */
import { readdirSync, readFileSync } from 'node:fs';
import mqtt, { type MqttClient } from 'mqtt';
import pino from 'pino';
import { buildEmbedded, SITE } from '../embedded/app.ts';
import { EmbeddedConfigSchema } from '../embedded/config.ts';
import { systemClock } from '../platform/clock.ts';
import { mqttTopic, WINDOW_MS, type Bin, type WindowResult } from '../protocol/index.ts';

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

export interface Progress {
  elapsed_s: number;
  duration_s: number;
  acknowledged: number;
  rate: number;
  p95_ms: number | null;
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
  latency_ms: { p50: number; p95: number; p99: number; max: number; measured: number } | null;
  cpu: { wacoflow_s: number; us_per_bin: number; kafka_s: number | null; postgres_s: number | null };
  rss_bytes_max: number;
}

const BIN_MS = 60_000;
const LANES = 5;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function percentile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

/** One bin carrying one vehicle. */
function bin(device_id: string, seq: number, detector_id: string, station_id: string, bin_start_ms: number): Bin {
  return {
    device_id, seq, detector_id, station_id, bin_start_ms, bin_ms: BIN_MS,
    clock: { synced: true, offset_ms: 0 },
    measures: {
      volume: 1, occupied_ms: 600, occupancy_observed_ms: BIN_MS, speed_weight: 1, speed_sum: 96, speed_inverse_sum: 1 / 96,
      speed_min_kmh: 96, speed_max_kmh: 96, samples_seen: 3, samples_expected: 3,
    },
  };
}

/** CPU seconds of every local process whose command line matches, with its children; null when none runs here. */
function cpuOf(match: (comm: string, cmdline: string) => boolean): number | null {
  let ticks = 0;
  let found = false;
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const comm = readFileSync(`/proc/${name}/comm`, 'utf8').trim();
      const cmdline = readFileSync(`/proc/${name}/cmdline`, 'utf8');
      if (!match(comm, cmdline)) continue;
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks += Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
      found = true;
    } catch {
      // gone, or not ours to read
    }
  }
  return found ? ticks / 100 : null;
}
const kafkaCpu = () => cpuOf((comm, cmd) => comm === 'java' && cmd.includes('kafka.Kafka'));
const postgresCpu = () => cpuOf((comm) => comm === 'postgres');

export async function runLoadtest(o: LoadtestOptions): Promise<LoadtestResult> {
  const run = `lt${Date.now().toString(36)}`;
  const perAgent = o.rate / o.agents;
  // One message per agent per tick, one bin per detector: a tick is one minute of the agent's event time.
  const tick_ms = (o.detectors_per_agent / perAgent) * 1000;
  const ticks = Math.max(1, Math.round((o.duration_s * 1000) / tick_ms));
  // Event time ends at the last whole window before now, so nothing lies in the future.
  const t0 = Math.floor((Date.now() - ticks * BIN_MS) / WINDOW_MS) * WINDOW_MS - WINDOW_MS;
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
  const clients: { device_id: string; client: MqttClient }[] = [];
  const pending = new Map<string, number[]>(); // detector|window → publish times of bins not yet counted
  const counted = new Map<string, number>(); // detector|window → volume in central's newest result
  const measured = new Map<string, number>(); // detector|window → bins whose latency is recorded
  const latencies: number[] = [];
  const events = new AbortController();
  try {
    // Agents: registered with secrets of their own, connected in groups so the broker is not stormed.
    const devices = Array.from({ length: o.agents }, (_, a) => `${run}-a${a}`);
    for (let i = 0; i < devices.length; i += 50) {
      await Promise.all(
        devices.slice(i, i + 50).map(async (device_id) => {
          const secret = `${device_id}-secret`;
          await system.addDevice(device_id, secret);
          clients.push({ device_id, client: await mqtt.connectAsync(system.mqttUrl(), { clientId: device_id, username: device_id, password: secret, reconnectPeriod: 1_000, clean: true }) });
        }),
      );
    }
    o.out(`${clients.length} agents connected`);

    // Central's window results, as the dashboard reads them.
    const stream = await fetch(`${system.httpUrl()}/api/events`, { signal: events.signal });
    void (async () => {
      const decoder = new TextDecoder();
      let buffer = '';
      for await (const chunk of stream.body as unknown as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(chunk, { stream: true });
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const message = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          if (!message.startsWith('event: window\n')) continue;
          const w = JSON.parse(message.slice(message.indexOf('data: ') + 6)) as WindowResult;
          if (w.level !== 'detector' || !w.key.startsWith(run)) continue;
          const k = `${w.key}|${w.window_start_ms}`;
          const seen = Math.max(counted.get(k) ?? 0, w.volume ?? 0);
          counted.set(k, seen);
          const times = pending.get(k);
          if (!times) continue;
          // A window counts its bins in the order they were published: the first `seen` are in this result.
          const now = Date.now();
          const folded = measured.get(k) ?? 0;
          const done = times.splice(0, Math.max(0, seen - folded));
          measured.set(k, folded + done.length);
          for (const t of done) latencies.push(now - t);
        }
      }
    })().catch(() => {}); // ends when the stream is aborted

    // Send: each agent one message per tick, spread over the tick so the rate is even.
    const cpu0 = process.cpuUsage();
    const kafka0 = kafkaCpu();
    const pg0 = postgresCpu();
    let published = 0;
    let acknowledged = 0;
    let rssMax = process.memoryUsage().rss;
    const started = Date.now();
    const progress = setInterval(() => {
      rssMax = Math.max(rssMax, process.memoryUsage().rss);
      const elapsed = (Date.now() - started) / 1000;
      const recent = latencies.slice(-5_000).sort((a, b) => a - b);
      o.progress?.({ elapsed_s: elapsed, duration_s: o.duration_s, acknowledged, rate: acknowledged / Math.max(elapsed, 0.001), p95_ms: recent.length > 0 ? percentile(recent, 0.95) : null });
    }, 1_000);
    const agentRuns = clients.map(async ({ device_id, client }, a) => {
      await sleep((a / clients.length) * tick_ms);
      let seq = 0;
      for (let t = 0; t < ticks; t++) {
        const due = started + (a / clients.length) * tick_ms + t * tick_ms;
        if (due > Date.now()) await sleep(due - Date.now());
        const bin_start_ms = t0 + t * BIN_MS;
        const window = Math.floor(bin_start_ms / WINDOW_MS) * WINDOW_MS;
        const bins = Array.from({ length: o.detectors_per_agent }, (_, d) => {
          const station_id = `${device_id}-s${Math.floor(d / LANES)}`;
          return bin(device_id, seq++, `${station_id}-l${(d % LANES) + 1}`, station_id, bin_start_ms);
        });
        const sent = Date.now();
        for (const b of bins) {
          const k = `${b.detector_id}|${window}`;
          const list = pending.get(k) ?? [];
          list.push(sent);
          pending.set(k, list);
        }
        published += bins.length;
        await client.publishAsync(mqttTopic(SITE, device_id, 'bins'), JSON.stringify({ v: 1, device_id, sent_ms: sent, bins }), { qos: 1 });
        acknowledged += bins.length;
      }
    });
    await Promise.all(agentRuns);
    const sendSeconds = (Date.now() - started) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const kafka1 = kafkaCpu();
    const pg1 = postgresCpu();
    // Every acknowledged bin must show up in a committed window: wait for the stragglers, with a deadline.
    const countedTotal = () => [...counted.values()].reduce((n, v) => n + v, 0);
    const deadline = Date.now() + 60_000;
    while (countedTotal() < acknowledged && Date.now() < deadline) await sleep(200);
    clearInterval(progress);
    rssMax = Math.max(rssMax, process.memoryUsage().rss);
    const sorted = latencies.sort((a, b) => a - b);
    const cpuSeconds = (cpu.user + cpu.system) / 1e6;
    return {
      agents: o.agents,
      target_bins_per_s: o.rate,
      duration_s: o.duration_s,
      log,
      store,
      bins_published: published,
      bins_acknowledged: acknowledged,
      bins_counted: countedTotal(),
      lost: Math.max(0, acknowledged - countedTotal()),
      acknowledged_bins_per_s: acknowledged / sendSeconds,
      latency_ms: sorted.length === 0 ? null : { p50: percentile(sorted, 0.5), p95: percentile(sorted, 0.95), p99: percentile(sorted, 0.99), max: sorted.at(-1)!, measured: sorted.length },
      cpu: {
        wacoflow_s: cpuSeconds,
        us_per_bin: (cpuSeconds * 1e6) / Math.max(1, acknowledged),
        kafka_s: o.kafka_brokers.length > 0 && kafka0 !== null && kafka1 !== null ? kafka1 - kafka0 : null,
        postgres_s: o.database_url && pg0 !== null && pg1 !== null ? pg1 - pg0 : null,
      },
      rss_bytes_max: rssMax,
    };
  } finally {
    events.abort();
    await Promise.all(clients.map(({ client }) => client.endAsync().catch(() => {})));
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
    ['CPU, WacoFlow process', `${r.cpu.wacoflow_s.toFixed(1)} s, ${r.cpu.us_per_bin.toFixed(1)} µs per bin (gateway, central and the load agents together)`],
    ['CPU, Kafka broker', r.cpu.kafka_s === null ? '—' : `${r.cpu.kafka_s.toFixed(1)} s`],
    ['CPU, PostgreSQL', r.cpu.postgres_s === null ? '—' : `${r.cpu.postgres_s.toFixed(1)} s`],
    ['resident memory, max', `${n(r.rss_bytes_max / 1_048_576)} MiB`],
  ];
  const w = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${k.padEnd(w)}  ${v}`).join('\n');
}
