/**
 * Kafka stopped for two minutes under load, on a broker of its own (so the other suites' broker is never
 * touched): agents keep their bins while the gateway refuses, nothing acknowledged is lost, and everything
 * arrives once Kafka is back. Runs where the real-service suites run (WACOFLOW_KAFKA_BROKERS set).
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pino from 'pino';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { decode, expecting, KAFKA_TOPICS, type Bin } from '../protocol/index.ts';
import { systemClock } from '../platform/clock.ts';
import { KafkaLog } from '../platform/log/kafka-log.ts';
import { MemoryOutbox } from '../edge-agent/outbox/memory-outbox.ts';
import { MemorySeqSource } from '../edge-agent/outbox/seq-file.ts';
import { MqttUplink } from '../edge-agent/uplink/mqtt-uplink.ts';
import { serviceAddress } from '../test/services.ts';
import { buildGateway } from './app.ts';
import { hashSecret, MemoryDeviceRegistry } from './registry/devices.ts';
import { freePort } from '../test/ports.ts';

const run = promisify(execFile);
const root = join(import.meta.dirname, '..');
const enabled = serviceAddress('WACOFLOW_KAFKA_BROKERS');
const OUTAGE_MS = 120_000;
const AGENTS = 10;
const BINS = 100;

describe.skipIf(!enabled)('Kafka away for two minutes under load', () => {
  it('loses no acknowledged bin and delivers everything once Kafka is back', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wacoflow-kafka-outage-'));
    const shared = join(root, '.services', 'kafka-3.9.1', 'libs');
    if (existsSync(shared)) {
      mkdirSync(join(dir, 'kafka-3.9.1'), { recursive: true });
      symlinkSync(shared, join(dir, 'kafka-3.9.1', 'libs')); // reuse the jars the main broker was started from
    }
    const port = await freePort();
    const env = { ...process.env, WACOFLOW_SERVICES_DIR: dir, WACOFLOW_KAFKA_PORT: String(port), WACOFLOW_KAFKA_CONTROLLER_PORT: String(await freePort()) };
    const services = (args: string[], keep = false) => run('bash', [join(root, 'scripts', 'services.sh'), ...args], { env: { ...env, ...(keep ? { WACOFLOW_KAFKA_KEEP_DATA: '1' } : {}) } });
    await services(['up', 'kafka']);

    const log = new KafkaLog({ brokers: [`127.0.0.1:${port}`], client_id: 'outage-test', connection_timeout_ms: 1_000 });
    await log.ensureTopics([{ name: KAFKA_TOPICS.bins, partitions: 3 }, { name: KAFKA_TOPICS.health, partitions: 1 }, { name: KAFKA_TOPICS.dlq, partitions: 1 }]);
    const devices = new MemoryDeviceRegistry();
    const hash = await hashSecret('pw');
    const ids = Array.from({ length: AGENTS }, (_, i) => `ko-${i}`);
    for (const id of ids) devices.add({ device_id: id, site: 'waco', enabled: true, secret_hash: hash });
    const logger = pino({ level: 'silent' });
    const gateway = buildGateway({ mqtt_host: '127.0.0.1', mqtt_port: 0, log_breaker_threshold: 3, log_breaker_open_ms: 2_000 }, { log, registry: devices, clock: systemClock, logger, metrics: new Registry() });
    await gateway.start();

    const acked = new Set<string>();
    const T0 = Date.UTC(2026, 10, 24, 23, 0, 0);
    const agents: { uplink: MqttUplink; outbox: MemoryOutbox }[] = [];
    for (const id of ids) {
      const outbox = new MemoryOutbox(new MemorySeqSource(0));
      await outbox.append(
        Array.from({ length: BINS }, (_, i) => ({ detector_id: `${id}-l${i % 3}`, station_id: id, bin_start_ms: T0 + Math.floor(i / 3) * 60_000, bin_ms: 60_000, measures: expecting(3) })),
        { device_id: id, clock: { synced: true, offset_ms: 0 } },
      );
      const accept = outbox.accept.bind(outbox);
      outbox.accept = async (batch: Bin[]) => {
        for (const b of batch) acked.add(`${b.device_id}/${b.seq}`);
        return accept(batch);
      };
      // Five bins a second each: a load that is still running when Kafka stops and resumes after.
      const uplink = new MqttUplink(
        { url: gateway.url(), site: 'waco', device_id: id, password: 'pw', max_bins_per_message: 10, max_inflight_messages: 2, ack_timeout_ms: 5_000, reconnect_ms: 500, live_window_ms: 0, backlog_bins_per_s: 5 },
        { outbox, clock: systemClock, logger, takeDropped: () => ({}), restoreDropped: () => {} },
      );
      uplink.start();
      agents.push({ uplink, outbox });
    }
    try {
      await new Promise((r) => setTimeout(r, 5_000));
      await services(['down']); // Kafka goes away…
      const ackedAtStop = acked.size;
      await new Promise((r) => setTimeout(r, OUTAGE_MS));
      const heldDuring = agents.reduce((a, x) => a + x.outbox.stats(Date.now()).depth, 0);
      expect(heldDuring).toBeGreaterThan(0); // the agents kept their bins
      expect(acked.size - ackedAtStop).toBeLessThan(100); // at most what was already in flight when it stopped
      await services(['up', 'kafka'], true); // …and comes back with its data
      const deadline = Date.now() + 120_000;
      while (agents.some((a) => a.outbox.stats(Date.now()).depth > 0) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 500));
      expect(agents.map((a) => a.outbox.stats(Date.now()).depth)).toEqual(agents.map(() => 0));

      const inKafka = new Set<string>();
      const consumer = log.consumer(`outage-${Date.now()}`);
      await consumer.run({ topics: [KAFKA_TOPICS.bins], eachBatch: async (b) => void b.records.forEach((r) => { const bin = decode('bin', r.value); inKafka.add(`${bin.device_id}/${bin.seq}`); }) });
      while (inKafka.size < AGENTS * BINS && Date.now() < deadline + 60_000) await new Promise((r) => setTimeout(r, 200));
      await consumer.stop();
      expect([...acked].filter((k) => !inKafka.has(k))).toEqual([]); // nothing acknowledged is missing
      expect(inKafka.size).toBe(AGENTS * BINS); // and everything arrived
    } finally {
      await Promise.all(agents.map((a) => a.uplink.stop()));
      await gateway.stop();
      await log.close();
      await services(['down']).catch(() => {});
    }
  }, 420_000);
});
