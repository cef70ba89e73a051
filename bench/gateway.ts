/**
 * Gateway figures on real Kafka, side by side in one run: bins per second from MQTT QoS 1 into Kafka (acks=all)
 * through `wacoflow gateway`, the same load through a Mosquitto → kcat pipeline as the reference, PUBACK latency
 * at a steady 1,000 messages per second, and the gateway's memory per idle connection with 1,000 devices.
 * The gateway and Mosquitto run as their own processes; this script is only the load and the stopwatch.
 * Each path's CPU per bin is read from /proc over the same runs: the gateway and the Kafka broker, against
 * Mosquitto, mosquitto_sub, kcat and the broker (a rate swings with the machine; CPU per bin much less).
 * Prints Markdown; never gates CI. Every wait has a deadline: a stage that does not finish says so.
 *
 *   npm run services -- up && WACOFLOW_KAFKA_BROKERS=127.0.0.1:9092 npm run bench:gateway
 *   WACOFLOW_BENCH_ONLY=latency,memory …   (stages: throughput, reference (in turn with throughput), latency, memory)
 *   WACOFLOW_BENCH_GATEWAY_FLAGS='--cpu-prof --cpu-prof-dir=/tmp/prof' …   (node flags for the gateway process)
 */
import { execFileSync, fork, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import mqtt, { type MqttClient } from 'mqtt';
import { mqttTopic, type BinBatch } from '../protocol/index.ts';
import { hashSecret } from '../gateway/registry/devices.ts';
import { localKafkaPid, reapedSeconds, treeSeconds } from '../platform/process-cpu.ts';
import { writeRegistryFile } from '../gateway/registry/file-registry.ts';
import { freePort } from '../test/ports.ts';

const BROKERS = process.env.WACOFLOW_KAFKA_BROKERS ?? '127.0.0.1:9092';
const BIN = join(import.meta.dirname, '..', 'bin', 'wacoflow.js');
const dir = mkdtempSync(join(tmpdir(), 'wf-bench-gw-'));
const SECRET = 'bench-secret';
const PUBLISHERS = 16;
const WINDOW = 32; // QoS 1 messages each publisher keeps in flight: the gateway's default per-device limit
const RUNS = 3;
const IDLE_DEVICES = 1_000;
const REFERENCE_TOPIC = 'wacoflow.bench.reference';

const fixture = JSON.parse(readFileSync(join(import.meta.dirname, '..', 'protocol', 'fixtures', 'valid', 'bin_batch.json'), 'utf8')) as BinBatch;
const rows: [string, string, string][] = [];
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, cond: () => boolean | Promise<boolean>, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`${what}: not done after ${ms / 1000} s`);
    await sleep(20);
  }
}

/** One message for `device`: `bins` bins under fresh seqs, as an agent would send them. */
function payload(device: string, seq: number, bins: number): Buffer {
  const template = fixture.bins[0]!;
  return Buffer.from(
    JSON.stringify({
      v: 1, device_id: device, sent_ms: Date.now(),
      bins: Array.from({ length: bins }, (_, i) => ({ ...template, device_id: device, seq: seq + i, detector_id: `${device}-d${i % 8}`, station_id: `st-${(seq + i) % 37}` })),
    }),
  );
}

const kafka = new Kafka({ clientId: 'wacoflow-bench', brokers: BROKERS.split(','), logLevel: logLevel.NOTHING });
const admin = kafka.admin();
const KAFKA_PID = localKafkaPid(join(import.meta.dirname, '..', '.services', 'kafka-run', 'kafka.pid'));

/** CPU seconds of a process tree now (null: gone, or not local), for a difference over a run. */
const cpuOf = (pid: number | null): number | null => (pid === null ? null : treeSeconds(pid));

/** µs of CPU per bin between two readings (null when either is missing). */
const perBin = (before: number | null, after: number | null, bins: number): number | null =>
  before === null || after === null ? null : ((after - before) * 1e6) / bins;

/** What one run cost: µs of CPU per bin for the path's own processes and for the Kafka broker. */
interface RunCost {
  rate: number;
  path_us: number | null;
  kafka_us: number | null;
}

async function recordsIn(topic: string): Promise<number> {
  const offsets = await admin.fetchTopicOffsets(topic);
  return offsets.reduce((n, p) => n + Number(p.high) - Number(p.low), 0);
}

// ---------------------------------------------------------------------------------------------------- processes

const children: ChildProcess[] = [];
/** Starts a server process and waits until its port takes connections. Keeps only the tail of its output. */
async function start(command: string, args: string[], port: number, what: string): Promise<ChildProcess> {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let tail = '';
  const keep = (d: Buffer) => (tail = (tail + d.toString()).slice(-2_000));
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const answers = () =>
    new Promise<boolean>((r) => {
      const s = connect(port, '127.0.0.1', () => s.end(() => r(true))).on('error', () => r(false));
    });
  await until(what, async () => child.exitCode !== null || (await answers()), 60_000);
  if (child.exitCode !== null) throw new Error(`${what} exited: ${tail}`);
  return child;
}

/** A registry of `devices` devices bench-0…, all with SECRET (one hash: the login cost is the same, the setup is not 1,000 hashes). */
async function registryFile(devices: number): Promise<string> {
  const path = join(dir, `devices-${devices}.json`);
  const hash = await hashSecret(SECRET);
  const now = Date.now();
  writeRegistryFile(path, Array.from({ length: devices }, (_, i) => ({ device_id: `bench-${i}`, site: 'waco', enabled: true, role: 'device' as const, secret_hash: hash, created_ms: now, updated_ms: now })));
  return path;
}

async function startGateway(devices: number, perClientRate: number): Promise<{ url: string; pid: number; stop: () => Promise<void> }> {
  const registry = await registryFile(devices);
  const port = await freePort();
  const config = join(dir, `gateway-${port}.yaml`);
  writeFileSync(config, [
    'mqtt_host: 127.0.0.1', `mqtt_port: ${port}`, `registry_file: ${registry}`, `max_messages_per_s_per_client: ${perClientRate}`,
    'kafka_brokers:', ...BROKERS.split(',').map((b) => `  - ${b}`),
  ].join('\n'));
  const flags = (process.env.WACOFLOW_BENCH_GATEWAY_FLAGS ?? '').split(' ').filter(Boolean);
  const child = await start(process.execPath, [...flags, BIN, 'gateway', '--config', config, '--log-level', 'warn'], port, 'wacoflow gateway');
  return { url: `mqtt://127.0.0.1:${port}`, pid: child.pid!, stop: () => stop(child) };
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await Promise.race([exited, sleep(10_000).then(() => child.kill('SIGKILL'))]);
}

/** Connects `ids` with `concurrency` logins at a time; the clients come back in the order of `ids`. */
async function connectAll(url: string, ids: string[], concurrency: number): Promise<MqttClient[]> {
  const clients: MqttClient[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < ids.length) {
        const i = next++;
        const id = ids[i]!;
        clients[i] = await mqtt.connectAsync(url, { clientId: id, username: id, password: SECRET, reconnectPeriod: 0, connectTimeout: 60_000, keepalive: 120 });
      }
    }),
  );
  return clients;
}

// ---------------------------------------------------------------------------------------------------- stages

/** Every publisher keeps WINDOW QoS 1 messages in flight until `messages` have been acknowledged in all. */
async function pump(clients: MqttClient[], topicOf: (i: number) => string, messages: number, bins: number, deadlineMs: number): Promise<number> {
  let sent = 0;
  let acked = 0;
  const t = performance.now();
  const closed = new Promise<never>((_, reject) => {
    for (const c of clients) c.once('close', () => reject(new Error(`${c.options.clientId} was disconnected after ${acked} acknowledgements`)));
  });
  closed.catch(() => {}); // the clients close on purpose once the pump is done
  await Promise.race([
    closed,
    Promise.all(
      clients.map((c, i) =>
        Promise.all(
          Array.from({ length: WINDOW }, async () => {
            while (sent < messages) {
              const seq = sent++ * bins;
              await c.publishAsync(topicOf(i), payload(c.options.clientId!, seq, bins), { qos: 1 });
              acked++;
            }
          }),
        ),
      ),
    ),
    sleep(deadlineMs).then(() => {
      throw new Error(`only ${acked} of ${messages} messages acknowledged after ${deadlineMs / 1000} s`);
    }),
  ]);
  return performance.now() - t;
}

/** The records one message of `bins` bins becomes: one per station it names (protocol/bin-records.ts). */
function recordsPerMessage(bins: number): number {
  const stations = new Set((JSON.parse(payload('bench-0', 0, bins).toString()) as BinBatch).bins.map((b) => b.station_id));
  return stations.size;
}

/** A path from MQTT to Kafka kept running between runs, so the gateway's and the reference's alternate. */
interface Path {
  run(messages: number): Promise<RunCost>;
  close(): Promise<void>;
}

async function gatewayPath(bins: number): Promise<Path> {
  const gw = await startGateway(PUBLISHERS, 100_000);
  return {
    async run(messages) {
      const clients = await connectAll(gw.url, Array.from({ length: PUBLISHERS }, (_, i) => `bench-${i}`), PUBLISHERS);
      try {
        const before = await recordsIn('wacoflow.bins.v1');
        const [gw0, kafka0] = [cpuOf(gw.pid), cpuOf(KAFKA_PID)];
        const ms = await pump(clients, (i) => mqttTopic('waco', `bench-${i}`, 'bins'), messages, bins, 120_000);
        const [gw1, kafka1] = [cpuOf(gw.pid), cpuOf(KAFKA_PID)];
        // Every PUBACK means Kafka has the bins: check that it does, a record per station of each message.
        const landed = (await recordsIn('wacoflow.bins.v1')) - before;
        const expected = messages * recordsPerMessage(bins);
        if (landed < expected) throw new Error(`acknowledged ${messages} messages (${expected} records) but Kafka has ${landed}`);
        return { rate: (messages * bins) / (ms / 1000), path_us: perBin(gw0, gw1, messages * bins), kafka_us: perBin(kafka0, kafka1, messages * bins) };
      } finally {
        await Promise.all(clients.map((c) => c.endAsync()));
      }
    },
    close: () => gw.stop(),
  };
}

async function referencePath(): Promise<Path> {
  await admin.createTopics({ waitForLeaders: true, topics: [{ topic: REFERENCE_TOPIC, numPartitions: 6, replicationFactor: -1 }] }).catch(() => {});
  const port = await freePort();
  const conf = join(dir, 'mosquitto.conf');
  // No queue limit for the pipeline's subscriber, so Mosquitto drops nothing while kcat catches up.
  writeFileSync(conf, [`listener ${port} 127.0.0.1`, 'allow_anonymous true', 'max_queued_messages 0', 'max_inflight_messages 0', 'persistence false'].join('\n'));
  const broker = await start('mosquitto', ['-c', conf], port, 'mosquitto');
  return {
    async run(messages) {
      // The pipeline: a QoS 1 subscriber printing "topic|payload" lines, kcat producing each line keyed by topic.
      // kcat sends stdin in blocks, so the last lines would wait for more input: the subscriber exits after the
      // run's messages (-C), and the run ends when kcat has delivered everything and exited.
      const pipe = spawn('sh', ['-c', `mosquitto_sub -h 127.0.0.1 -p ${port} -q 1 -i wf-bench-ref -t 'ref/#' -F '%t|%p' -C ${messages} | kcat -P -b ${BROKERS} -t ${REFERENCE_TOPIC} -K '|' -X acks=all -X enable.idempotence=true -X linger.ms=5`], { stdio: 'ignore', detached: true });
      const done = new Promise<number | null>((resolve) => pipe.once('exit', resolve));
      try {
        await sleep(500); // the subscription is in place
        const clients = await Promise.all(Array.from({ length: PUBLISHERS }, (_, i) => mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { clientId: `bench-${i}`, reconnectPeriod: 0 })));
        const before = await recordsIn(REFERENCE_TOPIC);
        // The pipeline's CPU: Mosquitto's, and mosquitto_sub's and kcat's, counted whole once the pipeline has
        // exited and been waited for (this process then holds them as reaped children).
        const [mosq0, kafka0, reaped0] = [cpuOf(broker.pid!), cpuOf(KAFKA_PID), reapedSeconds()];
        const t = performance.now();
        await pump(clients, (i) => `ref/${i}`, messages, 1, 300_000);
        const code = await Promise.race([done, sleep(300_000).then(() => 'timeout' as const)]);
        if (code !== 0) throw new Error(`the reference pipeline ended with ${code}`);
        const rate = messages / ((performance.now() - t) / 1000);
        const [mosq1, kafka1, reaped1] = [cpuOf(broker.pid!), cpuOf(KAFKA_PID), reapedSeconds()];
        const landed = (await recordsIn(REFERENCE_TOPIC)) - before;
        if (landed !== messages) throw new Error(`the reference pipeline landed ${landed} of ${messages} records`);
        await Promise.all(clients.map((c) => c.endAsync()));
        const path = perBin(mosq0, mosq1, messages);
        return { rate, path_us: path === null ? null : path + ((reaped1 - reaped0) * 1e6) / messages, kafka_us: perBin(kafka0, kafka1, messages) };
      } finally {
        try {
          process.kill(-pipe.pid!, 'SIGTERM');
        } catch {
          /* already gone */
        }
      }
    },
    close: () => stop(broker),
  };
}

/**
 * Runs the paths in turn, RUNS times each after a warm-up run of each (the JIT, connections and metadata:
 * printed, not counted), so that every path meets the machine as it is at that moment.
 */
async function alternate(paths: { name: string; path: Path; messages: number }[]): Promise<RunCost[][]> {
  const results: RunCost[][] = paths.map(() => []);
  for (let r = 0; r <= RUNS; r++) {
    for (const [i, p] of paths.entries()) {
      const cost = await p.path.run(p.messages);
      if (r > 0) results[i]!.push(cost);
      process.stderr.write(`[bench]   ${p.name}, ${r === 0 ? 'warm-up' : `run ${r}`}: ${fmt(cost.rate)} bins/s, ${cost.path_us?.toFixed(1) ?? 'n/a'} µs + Kafka ${cost.kafka_us?.toFixed(1) ?? 'n/a'} µs per bin\n`);
    }
  }
  return results;
}

/** Medians of several runs' rates and costs. */
function summary(runs: RunCost[]): { rate: number; path_us: number | null; kafka_us: number | null } {
  const med = (xs: (number | null)[]) => (xs.includes(null) ? null : median(xs as number[]));
  return { rate: median(runs.map((r) => r.rate)), path_us: med(runs.map((r) => r.path_us)), kafka_us: med(runs.map((r) => r.kafka_us)) };
}

const us = (x: number | null) => (x === null ? 'n/a' : `${x.toFixed(1)} µs`);

async function pubackLatency(ratePerS: number, seconds: number): Promise<number[]> {
  // 20 devices at 50 messages a second each: inside the gateway's default per-device rate limit.
  const devices = 20;
  const gw = await startGateway(devices, 50);
  const latencies: number[] = [];
  try {
    const clients = await connectAll(gw.url, Array.from({ length: devices }, (_, i) => `bench-${i}`), devices);
    const interval = 1_000 / (ratePerS / devices);
    let seq = 0;
    const end = performance.now() + seconds * 1_000;
    const pending: Promise<void>[] = [];
    await Promise.all(
      clients.map(async (c, i) => {
        await sleep((interval / devices) * i); // spread the devices over the interval
        let due = performance.now();
        while (due < end) {
          const t = performance.now();
          pending.push(c.publishAsync(mqttTopic('waco', `bench-${i}`, 'bins'), payload(`bench-${i}`, seq++, 1), { qos: 1 }).then(() => void latencies.push(performance.now() - t)));
          due += interval;
          await sleep(Math.max(0, due - performance.now()));
        }
      }),
    );
    await Promise.race([Promise.all(pending), sleep(30_000)]);
    await Promise.all(clients.map((c) => c.endAsync()));
  } finally {
    await gw.stop();
  }
  return latencies.sort((a, b) => a - b);
}

interface MemoryPoint {
  connected: number;
  rss: number;
  heap: number;
  external: number;
}

/**
 * The gateway's memory with 0, half and all IDLE_DEVICES connected, each reading after a full collection (the
 * gateway runs in bench/gateway-memory-child.ts with --expose-gc). Two settings keep RSS about connections
 * rather than the allocators' housekeeping: a fixed 1 MiB young generation (left free, V8 grows and shrinks it
 * by tens of MB between readings) and a fixed mmap threshold for the logins' scrypt buffers (below).
 */
async function idleMemory(): Promise<{ points: MemoryPoint[]; seconds: number }> {
  const registry = await registryFile(IDLE_DEVICES);
  const child = fork(join(import.meta.dirname, 'gateway-memory-child.ts'), [registry, BROKERS], {
    // A fixed mmap threshold keeps each login's 16 MiB scrypt buffer in its own mapping, given back when freed.
    // Left to glibc, the threshold rises past 16 MiB after the first free and later buffers come from malloc's
    // arenas, which keep their pages: RSS then rises and falls with the logins, not with the connections.
    execArgv: ['--expose-gc', '--max-semi-space-size=1', '--min-semi-space-size=1', '--import', 'tsx'], env: { ...process.env, MALLOC_ARENA_MAX: '2', MALLOC_MMAP_THRESHOLD_: '131072' }, stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  children.push(child);
  const next = <T>() => new Promise<T>((resolve) => child.once('message', (m) => resolve(m as T)));
  const { url } = await Promise.race([next<{ url: string }>(), sleep(60_000).then(() => Promise.reject(new Error('the gateway did not start in 60 s')))]);
  const points: MemoryPoint[] = [];
  const clients: MqttClient[] = [];
  const measure = async () => {
    await sleep(2_000);
    const reply = next<Omit<MemoryPoint, 'connected'>>();
    child.send('measure');
    points.push({ connected: clients.length, ...(await reply) });
  };
  try {
    await measure();
    const t = performance.now();
    const ids = Array.from({ length: IDLE_DEVICES }, (_, i) => `bench-${i}`);
    clients.push(...(await connectAll(url, ids.slice(0, IDLE_DEVICES / 2), 16)));
    await measure();
    clients.push(...(await connectAll(url, ids.slice(IDLE_DEVICES / 2), 16)));
    const seconds = (performance.now() - t) / 1000;
    await measure();
    return { points, seconds };
  } finally {
    await Promise.all(clients.map((c) => c.endAsync()));
    child.disconnect();
  }
}

// ---------------------------------------------------------------------------------------------------- main

async function main(): Promise<void> {
  await admin.connect();
  const step = (s: string) => process.stderr.write(`[bench] ${s}\n`);
  try {
    const only = (process.env.WACOFLOW_BENCH_ONLY ?? '').split(',').filter(Boolean);
    const want = (stage: string) => only.length === 0 || only.includes(stage);
    const opened: Path[] = [];
    const open = async (p: Promise<Path>) => {
      const path = await p;
      opened.push(path);
      return path;
    };
    try {
      if (want('throughput')) {
        // One bin per message, the gateway and the reference in turn; then the gateway with an agent's batch.
        const paths = [{ name: 'gateway, 1 bin per message', path: await open(gatewayPath(1)), messages: 20_000 }];
        if (want('reference')) paths.push({ name: 'Mosquitto → kcat reference', path: await open(referencePath()), messages: 20_000 });
        step(paths.map((p) => p.name).join(' and '));
        const [gwRuns, refRuns] = await alternate(paths);
        const single = summary(gwRuns!);
        rows.push([`MQTT QoS 1 → wacoflow gateway → Kafka acks=all, 1 bin per message (${PUBLISHERS} devices, ${WINDOW} in flight each)`, `${fmt(single.rate)} bins/s`, '≥ 20,000 bins/s']);
        rows.push(['CPU per bin of that path: the gateway; the Kafka broker', `${us(single.path_us)}; ${us(single.kafka_us)}`, '≤ the reference\'s']);
        if (refRuns) {
          const reference = summary(refRuns);
          rows.push([`reference, the same load in turn with it: MQTT QoS 1 → Mosquitto → mosquitto_sub \\| kcat → Kafka acks=all`, `${fmt(reference.rate)} bins/s`, '—']);
          rows.push(['CPU per bin of that path: Mosquitto, mosquitto_sub and kcat; the Kafka broker', `${us(reference.path_us)}; ${us(reference.kafka_us)}`, '—']);
          rows.push(['gateway ÷ reference, 1 bin per message: rate', `${(single.rate / reference.rate).toFixed(2)}`, '≥ 0.8']);
          const all = (x: ReturnType<typeof summary>) => (x.path_us === null || x.kafka_us === null ? null : x.path_us + x.kafka_us);
          const [g, r] = [all(single), all(reference)];
          rows.push(['gateway ÷ reference, 1 bin per message: CPU per bin, broker included', g === null || r === null ? 'n/a' : `${(g / r).toFixed(2)} (${g.toFixed(1)} µs ÷ ${r.toFixed(1)} µs)`, '≤ 1']);
        }
        for (const p of opened.splice(0)) await p.close();
        step('gateway, 50 bins per message');
        const [batchedRuns] = await alternate([{ name: 'gateway, 50 bins per message', path: await open(gatewayPath(50)), messages: 2_000 }]);
        const batched = summary(batchedRuns!);
        rows.push([`the same, 50 bins per message (an agent's live batch, 37 stations: 37 records)`, `${fmt(batched.rate)} bins/s`, '≥ 20,000 bins/s']);
        rows.push(['CPU per bin of that path: the gateway; the Kafka broker', `${us(batched.path_us)}; ${us(batched.kafka_us)}`, '—']);
      }
    } finally {
      for (const p of opened) await p.close();
    }
    if (want('latency')) {
      step('PUBACK latency at 1,000 msg/s for 30 s');
      const lat = await pubackLatency(1_000, 30);
      const q = (p: number) => lat[Math.min(lat.length - 1, Math.floor(p * lat.length))]!;
      rows.push([`PUBACK latency at 1,000 msg/s, 1 bin each, 20 devices (${fmt(lat.length)} messages)`, `p50 ${q(0.5).toFixed(1)} ms, p99 ${q(0.99).toFixed(1)} ms, max ${q(1).toFixed(1)} ms`, 'p99 ≤ 20 ms']);
    }
    if (want('memory')) {
      step(`memory with ${IDLE_DEVICES} idle devices`);
      const { points, seconds } = await idleMemory();
      const [zero, half, all] = points as [MemoryPoint, MemoryPoint, MemoryPoint];
      const mb = (p: MemoryPoint) => `${(p.rss / 2 ** 20).toFixed(0)} MB RSS, ${(p.heap / 2 ** 20).toFixed(1)} MB heap`;
      const per = (a: MemoryPoint, b: MemoryPoint, k: 'rss' | 'heap' | 'external') => `${((b[k] - a[k]) / (b.connected - a.connected) / 1024).toFixed(1)} KB`;
      rows.push([`gateway after a full GC with 0 / ${fmt(half.connected)} / ${fmt(all.connected)} idle devices (logins: ${seconds.toFixed(0)} s of scrypt)`, `${mb(zero)} / ${mb(half)} / ${mb(all)}`, '—']);
      rows.push([`memory per idle connection, 0 → ${fmt(all.connected)} connected: RSS; V8 heap; external`, `${per(zero, all, 'rss')}; ${per(zero, all, 'heap')}; ${per(zero, all, 'external')}`, '≤ 20 KB']);
      rows.push([`the same, ${fmt(half.connected)} → ${fmt(all.connected)} connected (the first connections' one-off structures left out)`, `${per(half, all, 'rss')}; ${per(half, all, 'heap')}; ${per(half, all, 'external')}`, '—']);
    }
  } finally {
    await admin.disconnect();
    await Promise.all(children.map((c) => stop(c)));
  }

  const cpu = cpus()[0]?.model ?? 'unknown cpu';
  const kafkaVersion = execFileSync('sh', ['-c', 'ls .services | grep -o "kafka-[0-9.]*" | head -1'], { cwd: join(import.meta.dirname, '..') }).toString().trim();
  console.log(`\n### Gateway: ${new Date().toISOString().slice(0, 10)}, ${cpus().length} × ${cpu}, Node ${process.version}, ${kafkaVersion || 'Kafka'} (one broker, same machine)\n`);
  console.log('| measure | median of 3 runs | goal |\n|---|---|---|');
  for (const [m, v, g] of rows) console.log(`| ${m} | ${v} | ${g} |`);
}

main().then(
  () => process.exit(0),
  async (err: unknown) => {
    console.error(err);
    await Promise.all(children.map((c) => stop(c)));
    process.exit(1);
  },
);
