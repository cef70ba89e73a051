/**
 * The load test's agents and observer, run in a process of their own (agents-process.ts) so that the system
 * under test keeps its own core: `driveAgents` connects every agent with its credentials, publishes one message
 * per agent per tick (one bin of one vehicle per detector, so a detector window's volume counts its bins),
 * and follows central's window results on the API's event stream to time each bin and find every one.
 */
import mqtt, { type MqttClient } from 'mqtt';
import { mqttTopic, WINDOW_MS, type Bin, type WindowResult } from '../protocol/index.ts';

export interface DriveOptions {
  /** Device ids and detector ids start with it, so the observer tells this run's windows from any other's. */
  run: string;
  site: string;
  mqtt_url: string;
  http_url: string;
  devices: { device_id: string; secret: string }[];
  rate: number;
  duration_s: number;
  detectors_per_agent: number;
}

export interface Progress {
  elapsed_s: number;
  duration_s: number;
  acknowledged: number;
  /** Bins central's windows count so far. */
  counted: number;
  rate: number;
  /** Of every bin counted in the last PROGRESS_SPAN_S seconds. */
  p95_ms: number | null;
}

/** The span of the progress p95: every latency measured in it, so a spike between two lines still shows. */
export const PROGRESS_SPAN_S = 10;

export interface DriveResult {
  published: number;
  acknowledged: number;
  counted: number;
  send_s: number;
  latency_ms: Percentiles | null;
  /** From a message's publish to its PUBACK (the gateway's answer once Kafka holds its bins): the first half of the path. */
  ack_latency_ms: Percentiles | null;
  cpu_s: number;
  rss_bytes_max: number;
}

const BIN_MS = 60_000;
export const LANES = 5;
/** After sending, how long the count of bins in windows may stand still before the missing ones count as lost. */
const STALL_MS = 30_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function percentile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

export interface Percentiles {
  p50: number;
  p95: number;
  p99: number;
  max: number;
  /** How many values they were taken from. */
  measured: number;
}

function percentiles(values: number[]): Percentiles | null {
  if (values.length === 0) return null;
  const sorted = values.sort((a, b) => a - b);
  return { p50: percentile(sorted, 0.5), p95: percentile(sorted, 0.95), p99: percentile(sorted, 0.99), max: sorted.at(-1)!, measured: sorted.length };
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

/** Follows window results on /api/events, calling `onWindow` for each detector window of this run. */
async function followWindows(http_url: string, run: string, signal: AbortSignal, onWindow: (w: WindowResult) => void): Promise<void> {
  const stream = await fetch(`${http_url}/api/events`, { signal });
  // Only this run's windows are parsed: a finalisation pass sends a result for every key of the city at once,
  // and parsing them all here would delay the timing of the bins behind them (and the agents' sends).
  const ours = `"key":${JSON.stringify(run)}`.slice(0, -1);
  void (async () => {
    const decoder = new TextDecoder();
    let buffer = '';
    for await (const chunk of stream.body as unknown as AsyncIterable<Uint8Array>) {
      buffer += decoder.decode(chunk, { stream: true });
      let end: number;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const message = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        if (!message.startsWith('event: window\n') || !message.includes(ours)) continue;
        const w = JSON.parse(message.slice(message.indexOf('data: ') + 6)) as WindowResult;
        if (w.level === 'detector' && w.key.startsWith(run)) onWindow(w);
      }
    }
  })().catch(() => {}); // ends when the stream is aborted
}

/**
 * Connects the agents, then sends. `connected` is called with the seconds connecting took, once every agent is
 * connected and before the first bin, so the caller can start its CPU measurement there: the gateway checks
 * each agent's credentials with a deliberately slow hash, which is not the bins' work.
 */
export async function driveAgents(o: DriveOptions, progress: (p: Progress) => void, connected: (connect_s: number) => Promise<void> = async () => {}): Promise<DriveResult> {
  const perAgent = o.rate / o.devices.length;
  // A tick is one minute of an agent's event time: one bin per detector.
  const tick_ms = (o.detectors_per_agent / perAgent) * 1000;
  const ticks = Math.max(1, Math.round((o.duration_s * 1000) / tick_ms));
  // Event time ends at the last whole window before now, so nothing lies in the future.
  const t0 = Math.floor((Date.now() - ticks * BIN_MS) / WINDOW_MS) * WINDOW_MS - WINDOW_MS;

  const pending = new Map<string, number[]>(); // detector|window → publish times of bins not yet counted
  const counted = new Map<string, number>(); // detector|window → volume in central's newest result
  let countedTotal = 0; // the sum of `counted`
  const latencies: number[] = [];
  const ackLatencies: number[] = [];
  const events = new AbortController();
  const clients: { device_id: string; client: MqttClient }[] = [];
  try {
    await followWindows(o.http_url, o.run, events.signal, (w) => {
      const k = `${w.key}|${w.window_start_ms}`;
      const before = counted.get(k) ?? 0;
      const seen = Math.max(before, w.volume ?? 0);
      counted.set(k, seen);
      countedTotal += seen - before;
      // A window counts its bins in the order they were published: those past `before` are new in this result.
      const now = Date.now();
      for (const t of pending.get(k)?.splice(0, seen - before) ?? []) latencies.push(now - t);
    });
    // Connected in groups of 50, so the broker is not stormed.
    const connecting = Date.now();
    for (let i = 0; i < o.devices.length; i += 50) {
      await Promise.all(
        o.devices.slice(i, i + 50).map(async ({ device_id, secret }) => {
          clients.push({ device_id, client: await mqtt.connectAsync(o.mqtt_url, { clientId: device_id, username: device_id, password: secret, reconnectPeriod: 1_000 }) });
        }),
      );
    }

    await connected((Date.now() - connecting) / 1000);
    const cpu0 = process.cpuUsage();
    let send_s: number | null = null;
    let published = 0;
    let acknowledged = 0;
    let rssMax = process.memoryUsage().rss;
    const started = Date.now();
    const marks: number[] = []; // latencies.length at each of the last PROGRESS_SPAN_S ticks
    const ticker = setInterval(() => {
      rssMax = Math.max(rssMax, process.memoryUsage().rss);
      const elapsed = (Date.now() - started) / 1000;
      marks.push(latencies.length);
      if (marks.length > PROGRESS_SPAN_S + 1) marks.shift();
      const recent = latencies.slice(marks[0]).sort((a, b) => a - b);
      const sending = Math.min(elapsed, send_s ?? elapsed);
      progress({ elapsed_s: elapsed, duration_s: o.duration_s, acknowledged, counted: countedTotal, rate: acknowledged / Math.max(sending, 0.001), p95_ms: recent.length > 0 ? percentile(recent, 0.95) : null });
    }, 1_000);
    // Each agent sends one message per tick, the agents spread over the tick so the rate is even.
    await Promise.all(
      clients.map(async ({ device_id, client }, a) => {
        let seq = 0;
        for (let t = 0; t < ticks; t++) {
          const due = started + (a / clients.length + t) * tick_ms;
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
          await client.publishAsync(mqttTopic(o.site, device_id, 'bins'), JSON.stringify({ v: 1, device_id, sent_ms: sent, bins }), { qos: 1 });
          ackLatencies.push(Date.now() - sent);
          acknowledged += bins.length;
        }
      }),
    );
    send_s = (Date.now() - started) / 1000;
    const cpu = process.cpuUsage(cpu0);
    // Every acknowledged bin must show up in a committed window: wait while central is still catching up,
    // giving up once the count has not moved for STALL_MS.
    let last = countedTotal;
    let moved = Date.now();
    while (last < acknowledged && Date.now() - moved < STALL_MS) {
      await sleep(200);
      if (countedTotal !== last) [last, moved] = [countedTotal, Date.now()];
    }
    clearInterval(ticker);
    return {
      published,
      acknowledged,
      counted: countedTotal,
      send_s,
      latency_ms: percentiles(latencies),
      ack_latency_ms: percentiles(ackLatencies),
      cpu_s: (cpu.user + cpu.system) / 1e6,
      rss_bytes_max: Math.max(rssMax, process.memoryUsage().rss),
    };
  } finally {
    events.abort();
    await Promise.all(clients.map(({ client }) => client.endAsync().catch(() => {})));
  }
}
