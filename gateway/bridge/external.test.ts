/**
 * External-broker mode against a real Mosquitto (WACOFLOW_MOSQUITTO_URL; CI: mqtt://127.0.0.1:1883): a message is
 * acknowledged to the broker only once the log has it, so when the log refuses, the broker delivers it again;
 * and messages published while the bridge is away wait in its persistent session.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import mqtt from 'mqtt';
import pino from 'pino';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { binsIn, encode, KAFKA_TOPICS, mqttTopic } from '../../protocol/index.ts';
import { systemClock } from '../../platform/clock.ts';
import type { Log, LogProducer, OutgoingRecord } from '../../platform/log/log.ts';
import { MemoryLog } from '../../platform/log/memory-log.ts';
import { serviceAddress } from '../../test/services.ts';
import { gatewayMetrics } from '../metrics.ts';
import { buildExternalBridge } from './external.ts';

const url = serviceAddress('WACOFLOW_MOSQUITTO_URL');
const batch = JSON.parse(readFileSync(new URL('../../protocol/fixtures/valid/bin_batch.json', import.meta.url), 'utf8'));

/** A log that refuses the first `failures` sends. */
class FlakyLog implements Log {
  readonly kind = 'memory' as const;
  readonly confirmed: { topic: string; records: OutgoingRecord[] }[] = [];
  failures: number;
  constructor(failures: number) {
    this.failures = failures;
  }
  async ensureTopics(): Promise<void> {}
  async producer(): Promise<LogProducer> {
    return {
      send: async (topic, records) => {
        if (this.failures-- > 0) throw new Error('broker away');
        this.confirmed.push({ topic, records });
      },
      close: async () => {},
    };
  }
  consumer(group: string) {
    return new MemoryLog().consumer(group);
  }
  async close(): Promise<void> {}
}

describe.skipIf(!url)('external-broker mode (Mosquitto)', () => {
  it('acknowledges only what the log took, gets the rest again, and keeps messages sent while it was away', async () => {
    const site = `t${randomUUID().slice(0, 8)}`;
    const log = new FlakyLog(3);
    const bridgeConfig = { url: url!, client_id: `wacoflow-bridge-${site}`, site, reconnect_ms: 200 };
    const deps = { log, clock: systemClock, logger: pino({ level: 'silent' }), metrics: gatewayMetrics(new Registry()) };
    let bridge = buildExternalBridge(bridgeConfig, deps);
    await bridge.start();
    const publisher = await mqtt.connectAsync(url!, { clientId: `pub-${site}`, reconnectPeriod: 0 });
    const seqsOf = () => new Set(log.confirmed.flatMap((c) => c.records.flatMap((r) => binsIn(r).map((b) => b.seq))));
    try {
      for (let i = 0; i < 10; i++) {
        const b = structuredClone(batch);
        b.bins = b.bins.map((bin: { seq: number }, j: number) => ({ ...bin, seq: i * 2 + j }));
        await publisher.publishAsync(mqttTopic(site, 'agent-i35', 'bins'), encode(b), { qos: 1 });
      }
      const deadline = Date.now() + 20_000;
      while (seqsOf().size < 20 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      expect([...seqsOf()].sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i)); // the refused three came again
      expect(log.confirmed.every((c) => c.topic === KAFKA_TOPICS.bins)).toBe(true);

      await bridge.stop(); // the bridge goes away; its session stays at the broker
      for (let i = 10; i < 13; i++) {
        const b = structuredClone(batch);
        b.bins = b.bins.map((bin: { seq: number }, j: number) => ({ ...bin, seq: i * 2 + j }));
        await publisher.publishAsync(mqttTopic(site, 'agent-i35', 'bins'), encode(b), { qos: 1 });
      }
      bridge = buildExternalBridge(bridgeConfig, deps);
      await bridge.start();
      while (seqsOf().size < 26 && Date.now() < deadline + 20_000) await new Promise((r) => setTimeout(r, 50));
      expect(seqsOf().size).toBe(26);
    } finally {
      await publisher.endAsync();
      await bridge.stop();
      // Leave no persistent session behind on the shared broker.
      const cleaner = await mqtt.connectAsync(url!, { clientId: bridgeConfig.client_id, clean: true, reconnectPeriod: 0 });
      await cleaner.endAsync();
    }
  }, 60_000);
});
