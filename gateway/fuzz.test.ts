/** 10,000 malformed packets — random bytes and mutated MQTT frames — never crash the broker or lock out a device. */
import { createConnection } from 'node:net';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { mqttTopic, encode } from '../protocol/index.ts';
import { localGateway } from '../test/local-gateway.ts';
import mqtt from 'mqtt';

/** MQTT 3.1.1 CONNECT for client "agent-fz", user "agent-fz", password "pw" (§3.1), then a QoS 1 PUBLISH (§3.3). */
function frames(): Buffer {
  const str = (s: string) => Buffer.concat([Buffer.from([s.length >> 8, s.length & 0xff]), Buffer.from(s)]);
  const varHeader = Buffer.concat([str('MQTT'), Buffer.from([4, 0b11000010, 0, 60])]);
  const payload = Buffer.concat([str('agent-fz'), str('agent-fz'), str('pw')]);
  const connect = Buffer.concat([Buffer.from([0x10, varHeader.length + payload.length]), varHeader, payload]);
  const topic = str('wacoflow/v1/waco/agent-fz/bins');
  const body = Buffer.concat([topic, Buffer.from([0, 1]), Buffer.from('{"v":1}')]);
  const publish = Buffer.concat([Buffer.from([0x32, body.length]), body]);
  return Buffer.concat([connect, publish]);
}

describe('gateway against malformed MQTT', () => {
  it('survives 10,000 malformed packets and still serves a well-behaved device', async () => {
    const { gateway } = await localGateway([{ device_id: 'agent-fz', secret: 'pw' }, { device_id: 'agent-ok', secret: 'pw' }]);
    const { port } = new URL(gateway.url());
    const valid = frames();
    const packets = fc.sample(
      fc.oneof(
        fc.uint8Array({ minLength: 1, maxLength: 200 }).map((b) => Buffer.from(b)),
        fc.tuple(fc.integer({ min: 0, max: valid.length - 1 }), fc.integer({ min: 1, max: 255 }), fc.integer({ min: 1, max: valid.length })).map(([at, xor, cut]) => {
          const b = Buffer.from(valid);
          b[at]! ^= xor;
          return b.subarray(0, cut);
        }),
      ),
      { numRuns: 10_000, seed: 42 },
    );
    try {
      // 100 connections, 100 packets each, sent as fast as the sockets take them.
      for (let c = 0; c < 100; c++) {
        await new Promise<void>((resolve) => {
          const s = createConnection({ host: '127.0.0.1', port: Number(port) });
          s.on('error', () => {});
          s.on('connect', () => {
            for (const p of packets.slice(c * 100, c * 100 + 100)) s.write(p);
            s.end();
          });
          s.on('close', () => resolve());
          setTimeout(() => s.destroy(), 2_000).unref();
        });
      }
      const ok = await mqtt.connectAsync(gateway.url(), { clientId: 'agent-ok', username: 'agent-ok', password: 'pw', reconnectPeriod: 0 });
      await ok.publishAsync(mqttTopic('waco', 'agent-ok', 'status'), encode({ v: 1, device_id: 'agent-ok', state: 'online', ts_ms: 1 }), { qos: 1 });
      expect(ok.connected).toBe(true);
      await ok.endAsync();
    } finally {
      await gateway.stop();
    }
  }, 120_000);
});
