/**
 * A graceful stop: a publish Kafka is still writing when the gateway is told to stop gets its PUBACK; nothing
 * new is taken meanwhile (and the readiness probe says so), and a stop does not wait longer than drain_ms for
 * a log that never answers.
 */
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

/** A log whose writes wait until released: a Kafka that takes its time. */
class HeldLog implements Log {
  readonly kind = 'memory' as const;
  sent = 0;
  private waiting: (() => void)[] = [];
  private started: (() => void) | null = null;
  async ensureTopics(): Promise<void> {}
  async producer(): Promise<LogProducer> {
    return {
      send: () =>
        new Promise<void>((resolve) => {
          this.waiting.push(() => {
            this.sent++;
            resolve();
          });
          this.started?.();
        }),
      close: async () => {},
    };
  }
  /** Resolves once a write is waiting. */
  writing(): Promise<void> {
    return this.waiting.length > 0 ? Promise.resolve() : new Promise((r) => (this.started = r));
  }
  release(): void {
    for (const w of this.waiting.splice(0)) w();
  }
  consumer(group: string) {
    return new MemoryLog().consumer(group);
  }
  async close(): Promise<void> {}
}

async function setup(drain_ms: number) {
  const log = new HeldLog();
  const devices = new MemoryDeviceRegistry();
  devices.add({ device_id: 'edge-1', site: 'waco', enabled: true, secret_hash: await hashSecret('pw') });
  const gateway = buildGateway({ mqtt_host: '127.0.0.1', mqtt_port: 0, drain_ms }, { log, registry: devices, clock: systemClock, logger: pino({ level: 'silent' }), metrics: new Registry() });
  await gateway.start();
  const device = await mqtt.connectAsync(gateway.url(), { clientId: 'edge-1', username: 'edge-1', password: 'pw', reconnectPeriod: 0 });
  const publish = () => device.publishAsync(mqttTopic('waco', 'edge-1', 'health'), encode({ ...hb, device_id: 'edge-1' }), { qos: 1 });
  return { log, gateway, device, publish };
}

describe('gateway stop', () => {
  it('acknowledges the publish Kafka is writing when the stop begins, and takes no new connection meanwhile', async () => {
    const { log, gateway, device, publish } = await setup(5_000);
    const url = gateway.url();
    const acked = publish();
    await log.writing();
    expect(gateway.probe('ready')).toEqual({ ok: true, checks: { listener: 'accepting', kafka: 'connected' } });
    const stopped = gateway.stop();
    // Out of the load balancer at once, but not restarted while it drains.
    expect(gateway.probe('ready')).toMatchObject({ ok: false, checks: { listener: 'draining' } });
    expect(gateway.probe('live')).toEqual({ ok: true, checks: { listener: 'draining' } });
    // The listener is closed: a device that comes now is turned away (to another gateway, behind a load balancer).
    await expect(mqtt.connectAsync(url, { clientId: 'edge-2', username: 'edge-1', password: 'pw', reconnectPeriod: 0, connectTimeout: 1_000 })).rejects.toThrow();
    await new Promise((r) => setTimeout(r, 100));
    log.release();
    await acked; // the PUBACK came: the device will not resend
    await stopped;
    expect(log.sent).toBe(1);
    device.end(true);
  });

  it('gives up after drain_ms when Kafka never answers, leaving the publish unacknowledged for the device to resend', async () => {
    const { log, gateway, device, publish } = await setup(200);
    const closed = new Promise<void>((r) => device.once('close', () => r()));
    let acked = false;
    void publish().then(() => (acked = true), () => {});
    await log.writing();
    const t = performance.now();
    await gateway.stop();
    expect(performance.now() - t).toBeLessThan(2_000);
    await closed;
    expect(acked).toBe(false);
    expect(log.sent).toBe(0);
    device.end(true);
  });
});
