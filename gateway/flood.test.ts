/**
 * A flood on real Kafka: one client publishes as fast as it can, at QoS 0 and QoS 1, while 50 well-behaved
 * agents send their bins. The gateway stays up, the flooder is cut off again and again, and every
 * well-behaved agent's bins reach Kafka. Needs WACOFLOW_KAFKA_BROKERS. CI floods for 20 s; the full version
 * (WACOFLOW_TEST_SCALE=full, test/scale.ts) for 60 s.
 */
import { randomUUID } from 'node:crypto';
import mqtt from 'mqtt';
import pino from 'pino';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { binsIn, encode, expecting, KAFKA_TOPICS, mqttTopic } from '../protocol/index.ts';
import { systemClock } from '../platform/clock.ts';
import { KafkaLog } from '../platform/log/kafka-log.ts';
import { MemoryOutbox } from '../edge-agent/outbox/memory-outbox.ts';
import { MemorySeqSource } from '../edge-agent/outbox/seq-file.ts';
import { MqttUplink } from '../edge-agent/uplink/mqtt-uplink.ts';
import { scaled } from '../test/scale.ts';
import { serviceAddress } from '../test/services.ts';
import { buildGateway } from './app.ts';
import { hashSecret, MemoryDeviceRegistry } from './registry/devices.ts';

const brokers = serviceAddress('WACOFLOW_KAFKA_BROKERS');
const AGENTS = 50;
const FLOOD_MS = scaled(20_000, 60_000);
/** Two bins a second each: the agents' bins take the whole flood. */
const BINS_PER_AGENT = (2 * FLOOD_MS) / 1000;

describe.skipIf(!brokers)('gateway under a flood, on real Kafka', () => {
  it(`keeps every well-behaved agent whole while one client floods for ${FLOOD_MS / 1000} s`, async () => {
    const run = randomUUID().slice(0, 6);
    const ids = Array.from({ length: AGENTS }, (_, i) => `fa${run}-${i}`);
    const flooderId = `flood${run}`;
    const devices = new MemoryDeviceRegistry();
    const hash = await hashSecret('pw');
    for (const id of [...ids, flooderId]) devices.add({ device_id: id, site: 'waco', enabled: true, secret_hash: hash });
    const log = new KafkaLog({ brokers: brokers!.split(','), client_id: 'flood-test' });
    await log.ensureTopics([{ name: KAFKA_TOPICS.bins, partitions: 6 }, { name: KAFKA_TOPICS.health, partitions: 3 }, { name: KAFKA_TOPICS.dlq, partitions: 1 }]);
    const logger = pino({ level: 'silent' });
    const metrics = new Registry();
    const gateway = buildGateway({ mqtt_host: '127.0.0.1', mqtt_port: 0 }, { log, registry: devices, clock: systemClock, logger, metrics });
    await gateway.start();

    const T0 = Date.UTC(2026, 10, 24, 23, 0, 0);
    const uplinks: { uplink: MqttUplink; outbox: MemoryOutbox }[] = [];
    for (const id of ids) {
      const outbox = new MemoryOutbox(new MemorySeqSource(0));
      await outbox.append(
        Array.from({ length: BINS_PER_AGENT }, (_, i) => ({ detector_id: `${id}-l${i % 4}`, station_id: id, bin_start_ms: T0 + Math.floor(i / 4) * 60_000, bin_ms: 60_000, measures: expecting(3) })),
        { device_id: id, clock: { synced: true, offset_ms: 0 } },
      );
      const uplink = new MqttUplink(
        { url: gateway.url(), site: 'waco', device_id: id, password: 'pw', max_bins_per_message: 10, max_inflight_messages: 2, ack_timeout_ms: 10_000, reconnect_ms: 500, live_window_ms: 0, backlog_bins_per_s: 2 },
        { outbox, clock: systemClock, logger, takeDropped: () => ({}), restoreDropped: () => {} },
      );
      uplink.start();
      uplinks.push({ uplink, outbox });
    }

    // The flooder: connect, publish without pause (QoS 0 and 1 alternating) until thrown out, reconnect, repeat.
    let cutOff = 0;
    let flooded = 0;
    const floodUntil = Date.now() + FLOOD_MS;
    const flood = (async () => {
      const payload = encode({ v: 1, device_id: flooderId, state: 'online', ts_ms: 1 });
      while (Date.now() < floodUntil) {
        const c = await mqtt.connectAsync(gateway.url(), { clientId: flooderId, username: flooderId, password: 'pw', reconnectPeriod: 0 }).catch(() => null);
        if (!c) continue;
        const closed = new Promise<void>((r) => c.once('close', () => r()));
        const pump = async (): Promise<void> => {
          while (c.connected && Date.now() < floodUntil) {
            for (let i = 0; i < 200 && c.connected; i++, flooded++) c.publish(mqttTopic('waco', flooderId, 'status'), payload, { qos: (i % 2) as 0 | 1 });
            await new Promise((r) => setImmediate(r));
          }
        };
        await Promise.race([pump(), closed]);
        if (!c.connected) cutOff++;
        c.end(true);
      }
    })();

    try {
      await flood;
      const deadline = Date.now() + 60_000;
      while (uplinks.some((u) => u.outbox.stats(Date.now()).depth > 0) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
      expect(uplinks.map((u) => u.outbox.stats(Date.now()).depth).reduce((a, b) => a + b, 0)).toBe(0);
      expect(cutOff).toBeGreaterThan(0);
      expect(flooded).toBeGreaterThan(1_000);

      // Every well-behaved bin is in Kafka.
      const want = new Set(ids);
      const got = new Map<string, Set<number>>();
      const consumer = log.consumer(`flood-${run}`);
      await consumer.run({
        topics: [KAFKA_TOPICS.bins],
        eachBatch: async (b) => {
          for (const bin of b.records.flatMap(binsIn)) {
            if (!want.has(bin.device_id)) continue;
            const s = got.get(bin.device_id) ?? new Set<number>();
            s.add(bin.seq);
            got.set(bin.device_id, s);
          }
        },
      });
      const total = () => [...got.values()].reduce((a, s) => a + s.size, 0);
      while (total() < AGENTS * BINS_PER_AGENT && Date.now() < deadline + 60_000) await new Promise((r) => setTimeout(r, 200));
      await consumer.stop();
      expect(total()).toBe(AGENTS * BINS_PER_AGENT);
      // And the gateway still takes a new device.
      const late = await mqtt.connectAsync(gateway.url(), { clientId: ids[0], username: ids[0], password: 'pw', reconnectPeriod: 0 });
      await late.endAsync();
    } finally {
      await Promise.all(uplinks.map((u) => u.uplink.stop()));
      await gateway.stop();
      await log.close();
    }
  }, 240_000);
});
