/**
 * Gateway figures on real Kafka (acks=all), measured in one run: bins per second from MQTT QoS 1 into Kafka,
 * PUBACK latency at 1,000 messages a second, memory per idle connection with 1,000 devices (the gateway as its
 * own process), and a Mosquitto → kcat pipeline as the reference. Needs WACOFLOW_KAFKA_BROKERS (npm run
 * services -- up) and, for the reference, mosquitto_sub and kcat. Prints Markdown; never gates CI.
 *
 *   WACOFLOW_KAFKA_BROKERS=127.0.0.1:9092 npm run bench:gateway
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import pino from 'pino';
import { Registry } from 'prom-client';
import { encode, expecting, KAFKA_TOPICS, mqttTopic } from '../protocol/index.ts';
import { buildGateway } from '../gateway/app.ts';
import { hashSecret, MemoryDeviceRegistry } from '../gateway/registry/devices.ts';
import { writeRegistryFile } from '../gateway/registry/file-registry.ts';
import { systemClock } from '../platform/clock.ts';
import { KafkaLog } from '../platform/log/kafka-log.ts';

const brokers = (process.env.WACOFLOW_KAFKA_BROKERS ?? '').split(',').filter(Boolean);
if (brokers.length === 0) {
  console.error('set WACOFLOW_KAFKA_BROKERS (npm run services -- up kafka)');
  process.exit(2);
}
const rows: [string, string, string][] = [];
const T0 = Date.UTC(2026, 10, 24, 23, 0, 0);
const batchOf = (device: string, n: number, from: number) =>
  encode({ v: 1, device_id: device, sent_ms: T0, bins: Array.from({ length: n }, (_, i) => ({ device_id: device, seq: from + i, detector_id: `d${i % 16}`, station_id: `s${i % 8}`, bin_start_ms: T0, bin_ms: 60_000, clock: { synced: true, offset_ms: 0 }, measures: expecting(3) })) });

async function inProcessGateway(devices: string[]) {
  const registry = new MemoryDeviceRegistry();
  const hash = await hashSecret('pw');
  for (const d of devices) registry.add({ device_id: d, site: 'waco', enabled: true, secret_hash: hash });
  const log = new KafkaLog({ brokers, client_id: 'bench-gateway' });
  await log.ensureTopics([{ name: KAFKA_TOPICS.bins, partitions: 6 }, { name: KAFKA_TOPICS.health, partitions: 3 }, { name: KAFKA_TOPICS.dlq, partitions: 1 }]);
  const gateway = buildGateway({ mqtt_host: '127.0.0.1', mqtt_port: 0, max_inflight_per_client: 64, max_messages_per_s_per_client: 100_000 }, { log, registry, clock: systemClock, logger: pino({ level: 'silent' }), metrics: new Registry() });
  await gateway.start();
  return { gateway, log };
}

/** 8 devices, 200 bins a message, up to 16 messages in flight each, until 200,000 bins are acknowledged. */
async function throughput(): Promise<number> {
  const devices = Array.from({ length: 8 }, (_, i) => `bt-${i}`);
  const { gateway, log } = await inProcessGateway(devices);
  const clients = await Promise.all(devices.map((d) => mqtt.connectAsync(gateway.url(), { clientId: d, username: d, password: 'pw', reconnectPeriod: 0 })));
  const perClient = 25_000;
  const t = performance.now();
  await Promise.all(
    clients.map(async (c, i) => {
      let sent = 0;
      const inflight = new Set<Promise<unknown>>();
      while (sent < perClient) {
        const p = c.publishAsync(mqttTopic('waco', devices[i]!, 'bins'), batchOf(devices[i]!, 200, sent), { qos: 1 });
        sent += 200;
        inflight.add(p);
        void p.finally(() => inflight.delete(p));
        if (inflight.size >= 16) await Promise.race(inflight);
      }
      await Promise.all(inflight);
    }),
  );
  const rate = (perClient * devices.length) / ((performance.now() - t) / 1000);
  await Promise.all(clients.map((c) => c.endAsync()));
  await gateway.stop();
  await log.close();
  rows.push(['MQTT QoS 1 → gateway → Kafka acks=all (8 devices, 200 bins a message, 200,000 bins)', `${Math.round(rate).toLocaleString('en-US')} bins/s`, '≥ 20,000 bins/s']);
  return rate;
}

/** One device, one bin per message, 1,000 messages a second for 10 s: publish → PUBACK latency. */
async function latency(): Promise<void> {
  const { gateway, log } = await inProcessGateway(['lat']);
  const c = await mqtt.connectAsync(gateway.url(), { clientId: 'lat', username: 'lat', password: 'pw', reconnectPeriod: 0 });
  const samples: number[] = [];
  const pending: Promise<void>[] = [];
  let seq = 0;
  const end = performance.now() + 10_000;
  while (performance.now() < end) {
    const tick = performance.now();
    for (let i = 0; i < 10; i++) {
      const t = performance.now();
      pending.push(c.publishAsync(mqttTopic('waco', 'lat', 'bins'), batchOf('lat', 1, seq++), { qos: 1 }).then(() => void samples.push(performance.now() - t)));
    }
    await new Promise((r) => setTimeout(r, Math.max(0, 10 - (performance.now() - tick))));
  }
  await Promise.all(pending);
  samples.sort((a, b) => a - b);
  const q = (p: number) => samples[Math.min(samples.length - 1, Math.floor(p * samples.length))]!;
  await c.endAsync();
  await gateway.stop();
  await log.close();
  rows.push([`PUBACK latency at ${Math.round(samples.length / 10).toLocaleString('en-US')} msg/s (1 bin a message, 10 s)`, `p50 ${q(0.5).toFixed(1)} ms, p99 ${q(0.99).toFixed(1)} ms`, 'p99 ≤ 20 ms']);
}

/** The gateway as its own process: RSS before and after 1,000 devices connect and sit idle. */
async function memoryPerConnection(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'wf-bench-gw-'));
  const registry = join(dir, 'devices.json');
  const hash = await hashSecret('pw');
  const ids = Array.from({ length: 1_000 }, (_, i) => `idle-${i}`);
  writeRegistryFile(registry, ids.map((device_id) => ({ device_id, site: 'waco', enabled: true, role: 'device' as const, secret_hash: hash, created_ms: 0, updated_ms: 0 })));
  writeFileSync(join(dir, 'gateway.yaml'), ['mqtt_host: 127.0.0.1', 'mqtt_port: 0', `registry_file: ${registry}`, 'kafka_brokers:', ...brokers.map((b) => `  - ${b}`)].join('\n'));
  const gw = spawn(process.execPath, [join(import.meta.dirname, '..', 'bin', 'wacoflow.js'), 'gateway', '-c', join(dir, 'gateway.yaml'), '--log-level', 'info'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let logs = '';
  gw.stderr.on('data', (d: Buffer) => (logs += d.toString()));
  while (!logs.includes('gateway ready')) await new Promise((r) => setTimeout(r, 100));
  const url = /"mqtt":"(mqtt:\/\/[^"]+)"/.exec(logs)![1]!;
  const rss = () => Number(readFileSync(`/proc/${gw.pid}/statm`, 'utf8').split(' ')[1]) * 4096;
  await new Promise((r) => setTimeout(r, 3_000));
  const before = rss();
  const clients = [];
  for (let i = 0; i < ids.length; i += 50) clients.push(...(await Promise.all(ids.slice(i, i + 50).map((d) => mqtt.connectAsync(url, { clientId: d, username: d, password: 'pw', reconnectPeriod: 0, keepalive: 600 })))));
  await new Promise((r) => setTimeout(r, 5_000));
  const after = rss();
  await Promise.all(clients.map((c) => c.endAsync()));
  gw.kill('SIGTERM');
  rows.push(['gateway RSS per idle connection (1,000 devices connected, gateway process)', `${((after - before) / ids.length / 1024).toFixed(1)} KB`, '≤ 20 KB']);
}

/** Reference: Mosquitto → mosquitto_sub → kcat (acks=all) for the same bins. */
async function reference(): Promise<number | null> {
  if (!['/usr/bin/kcat', '/usr/bin/mosquitto_sub'].every(existsSync)) return null;
  const topic = `bench-ref-${randomUUID().slice(0, 6)}`;
  const n = 2_000; // messages of 200 bins, as above: 400,000 bins
  const sub = spawn('sh', ['-c', `mosquitto_sub -h 127.0.0.1 -p 1883 -q 1 -t ${topic} -C ${n} | kcat -P -b ${brokers[0]} -t wacoflow.bench-ref -X acks=all -X enable.idempotence=true`], { stdio: 'ignore' });
  await new Promise((r) => setTimeout(r, 1_000));
  const pub = await mqtt.connectAsync('mqtt://127.0.0.1:1883', { clientId: `pub-${topic}`, reconnectPeriod: 0 });
  const t = performance.now();
  const payload = batchOf('ref', 200, 0);
  for (let i = 0; i < n; i++) await pub.publishAsync(topic, payload, { qos: 1 });
  await new Promise<void>((r) => sub.once('exit', () => r()));
  const rate = (n * 200) / ((performance.now() - t) / 1000);
  await pub.endAsync();
  rows.push(['reference: Mosquitto → mosquitto_sub | kcat (acks=all), 200 bins a message', `${Math.round(rate).toLocaleString('en-US')} bins/s`, '—']);
  return rate;
}

const ours = await throughput();
const ref = await reference();
await latency();
await memoryPerConnection();
console.log(`Node ${process.version}, ${cpus()[0]?.model ?? 'unknown CPU'} × ${cpus().length}, ${new Date().toISOString().slice(0, 10)}, Kafka ${brokers.join(',')}\n`);
console.log('| measure | result | goal |');
console.log('|---|---:|---|');
for (const [m, r, g] of rows) console.log(`| ${m} | ${r} | ${g} |`);
if (ref) console.log(`\nratio, gateway to reference: ${(ours / ref).toFixed(2)}`);
process.exit(0);
