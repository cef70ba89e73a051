/** Backpressure: a flooding device is thrown out without hurting the others; a dead log is not hammered. */
import { readFileSync } from 'node:fs';
import mqtt from 'mqtt';
import pino from 'pino';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { encode, mqttTopic } from '../protocol/index.ts';
import { systemClock } from '../platform/clock.ts';
import type { Log, LogProducer } from '../platform/log/log.ts';
import { MemoryLog } from '../platform/log/memory-log.ts';
import { buildGateway } from './app.ts';
import { hashSecret, MemoryDeviceRegistry } from './registry/devices.ts';

const hb = JSON.parse(readFileSync(new URL('../protocol/fixtures/valid/heartbeat.json', import.meta.url), 'utf8'));

/** Counts produce attempts; fails them while `down`. */
class CountingLog implements Log {
  readonly kind = 'memory' as const;
  attempts = 0;
  down = false;
  async ensureTopics(): Promise<void> {}
  async producer(): Promise<LogProducer> {
    return {
      send: async () => {
        this.attempts++;
        if (this.down) throw new Error('kafka away');
      },
      close: async () => {},
    };
  }
  consumer(group: string) {
    return new MemoryLog().consumer(group);
  }
  async close(): Promise<void> {}
}

async function setup(config: Record<string, number>) {
  const log = new CountingLog();
  const devices = new MemoryDeviceRegistry();
  for (const id of ['flooder', 'steady']) devices.add({ device_id: id, site: 'waco', enabled: true, secret_hash: await hashSecret('pw') });
  const metrics = new Registry();
  const gateway = buildGateway({ mqtt_host: '127.0.0.1', mqtt_port: 0, ...config }, { log, registry: devices, clock: systemClock, logger: pino({ level: 'silent' }), metrics });
  await gateway.start();
  const connect = (id: string) => mqtt.connectAsync(gateway.url(), { clientId: id, username: id, password: 'pw', reconnectPeriod: 0 });
  return { log, gateway, metrics, connect };
}

describe('gateway backpressure', () => {
  it('disconnects a device that floods, while a steady one keeps getting its PUBACKs', async () => {
    const { gateway, metrics, connect } = await setup({ max_messages_per_s_per_client: 20 });
    try {
      const flooder = await connect('flooder');
      const steady = await connect('steady');
      const flooderClosed = new Promise<void>((r) => flooder.once('close', () => r()));
      const payload = (id: string) => encode({ ...hb, device_id: id });
      for (let i = 0; i < 500 && flooder.connected; i++) flooder.publish(mqttTopic('waco', 'flooder', 'health'), payload('flooder'), { qos: 0 });
      const acks: Promise<unknown>[] = [];
      for (let i = 0; i < 10; i++) {
        acks.push(steady.publishAsync(mqttTopic('waco', 'steady', 'health'), payload('steady'), { qos: 1 }));
        await new Promise((r) => setTimeout(r, 100)); // 10 per second: within its limit
      }
      await flooderClosed;
      await Promise.all(acks);
      expect(steady.connected).toBe(true);
      const text = await metrics.metrics();
      expect(text, text.split('\n').filter((l) => l.includes('auth_failures') || l.includes('messages_total')).join('\n')).toMatch(/wacoflow_gateway_auth_failures_total\{reason="(rate_limit|inflight_limit)"\} [1-9]/); // whichever flood limit tripped first
      flooder.end(true);
      await steady.endAsync();
    } finally {
      await gateway.stop();
    }
  });

  it('stops producing while the log keeps failing, refusing publishes at once, and recovers on its own', async () => {
    const { log, gateway, connect } = await setup({ log_breaker_threshold: 2, log_breaker_open_ms: 500 });
    try {
      log.down = true;
      for (let i = 0; i < 4; i++) {
        const c = await connect('steady');
        const closed = new Promise<void>((r) => c.once('close', () => r()));
        void c.publishAsync(mqttTopic('waco', 'steady', 'health'), encode({ ...hb, device_id: 'steady' }), { qos: 1 }).catch(() => {});
        await closed; // no PUBACK: the device keeps its data
        c.end(true);
      }
      expect(log.attempts).toBe(2); // the breaker opened after two failures: the next two never reached the log
      log.down = false;
      await new Promise((r) => setTimeout(r, 600)); // half-open
      const c = await connect('steady');
      await c.publishAsync(mqttTopic('waco', 'steady', 'health'), encode({ ...hb, device_id: 'steady' }), { qos: 1 });
      expect(log.attempts).toBe(3);
      await c.endAsync();
    } finally {
      await gateway.stop();
    }
  });
});
