/**
 * Operators' documents for boards (configuration, release announcements), sent to one gateway over MQTT: kept
 * in the compacted admin topic, so every gateway, and one restarted later, holds them as retained messages that
 * each board receives when it subscribes.
 *
 * Operators' device commands on the log (sent by central's API): a disabled device is disconnected at once and
 * refused while it stays disabled, also by a gateway started later (the compacted topic is replayed); enabling
 * it lets it back in. Everyone else is untouched.
 */
import mqtt from 'mqtt';
import { describe, expect, it } from 'vitest';
import { hashSecret } from './registry/devices.ts';
import { encode, KAFKA_TOPICS, MQTT_RELEASE_TOPIC, mqttConfigTopics, type ConfigDocument, type DeviceCommand, type ReleaseAnnouncement } from '../protocol/index.ts';
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

  it('keeps an operator\'s config document and release announcement for boards on every gateway, restarted ones too', async () => {
    const { gateway, registry, restart } = await localGateway([{ device_id: 'cab-1', secret: 'pw' }]);
    registry.add({ device_id: 'ops', site: 'waco', enabled: true, role: 'operator', secret_hash: await hashSecret('pw') });
    const doc: ConfigDocument = { v: 1, scope: 'site', target: 'waco', version: 2, config: { heartbeat_interval_ms: 15_000 }, by: 'jd', ts_ms: Date.now() };
    const release: ReleaseAnnouncement = { v: 1, version: '0.2.0', bundles: { arm64: 'http://127.0.0.1:9/r/' }, share_pct: 100, sites: null, by: 'jd', ts_ms: Date.now() };
    const topics = mqttConfigTopics('waco', 'cab-1');
    const ops = await connect(gateway.url(), 'ops');
    await ops.publishAsync(topics.site, encode(doc), { qos: 1, retain: true });
    await ops.publishAsync(MQTT_RELEASE_TOPIC, encode(release), { qos: 1, retain: true });
    await ops.publishAsync(topics.fleet, Buffer.from('{"v":1}'), { qos: 1, retain: true }); // not a document
    ops.end(true);

    // Another gateway on the same log (a restart, or a second replica) has both, retained, for the board.
    const port = Number(new URL(gateway.url()).port);
    await gateway.stop();
    const second = await restart(port);
    try {
      await new Promise((r) => setTimeout(r, 300)); // it replays the admin topic in the background as it starts
      const board = await connect(second.url(), 'cab-1');
      const got = new Map<string, string>();
      board.on('message', (t, p) => got.set(t, p.toString()));
      await board.subscribeAsync([topics.fleet, topics.site, topics.device, MQTT_RELEASE_TOPIC], { qos: 1 });
      expect(await until(() => got.size >= 2)).toBe(true);
      expect(JSON.parse(got.get(topics.site)!)).toEqual(doc);
      expect(JSON.parse(got.get(MQTT_RELEASE_TOPIC)!)).toMatchObject({ version: '0.2.0' });
      expect(got.has(topics.fleet)).toBe(false); // the malformed one went to the dead letters, not to the boards' gateways
      board.end(true);
    } finally {
      await second.stop();
    }
  }, 30_000);
});
