/**
 * Operators' device commands on the log (sent by central's API): a disabled device is disconnected at once and
 * refused while it stays disabled, also by a gateway started later (the compacted topic is replayed); enabling
 * it lets it back in. Everyone else is untouched.
 */
import mqtt from 'mqtt';
import { describe, expect, it } from 'vitest';
import { encode, KAFKA_TOPICS, type DeviceCommand } from '../protocol/index.ts';
import { localGateway } from '../test/local-gateway.ts';

const connect = (url: string, id: string) =>
  new Promise<mqtt.MqttClient>((resolve, reject) => {
    const c = mqtt.connect(url, { clientId: id, username: id, password: 'pw', reconnectPeriod: 0, connectTimeout: 5_000 });
    c.once('connect', () => resolve(c));
    c.once('error', (err) => {
      c.end(true);
      reject(err);
    });
  });

const until = async (ok: () => boolean, ms = 5_000) => {
  const deadline = Date.now() + ms;
  while (!ok() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  return ok();
};

describe('gateway: operator commands', () => {
  it('disconnects and refuses a disabled device, on a restarted gateway too, until it is enabled', async () => {
    const { gateway, log, restart } = await localGateway([{ device_id: 'cab-1', secret: 'pw' }, { device_id: 'cab-2', secret: 'pw' }]);
    const command = async (device_id: string, action: DeviceCommand['action']) => {
      const producer = await log.producer();
      await producer.send(KAFKA_TOPICS.admin, [{ key: device_id, value: encode({ v: 1, device_id, action, by: 'jd', ts_ms: Date.now() } satisfies DeviceCommand), headers: { type: 'device_command' } }]);
      await producer.close();
    };
    let second = gateway;
    try {
      const one = await connect(gateway.url(), 'cab-1');
      const two = await connect(gateway.url(), 'cab-2');
      await command('cab-1', 'disable');
      expect(await until(() => !one.connected)).toBe(true);
      await expect(connect(gateway.url(), 'cab-1')).rejects.toThrow(/Not authorized|Bad username or password/);
      expect(two.connected).toBe(true);
      one.end(true);
      two.end(true);

      // A gateway started afterwards replays the command before it matters.
      const port = Number(new URL(gateway.url()).port);
      await gateway.stop();
      second = await restart(port);
      await new Promise((r) => setTimeout(r, 300)); // it replays the admin topic in the background as it starts
      await expect(connect(second.url(), 'cab-1')).rejects.toThrow();
      (await connect(second.url(), 'cab-2')).end(true);

      await command('cab-1', 'enable');
      const deadline = Date.now() + 5_000;
      let back: mqtt.MqttClient | null = null;
      while (!back && Date.now() < deadline) back = await connect(second.url(), 'cab-1').catch(() => null);
      expect(back?.connected).toBe(true);
      back?.end(true);
    } finally {
      await second.stop();
    }
  }, 30_000);
});
