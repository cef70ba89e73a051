import mqtt from 'mqtt';
import pino from 'pino';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decode, encode, KAFKA_TOPICS, MQTT_RELEASE_TOPIC, mqttConfigTopics, mqttTopic } from '../protocol/index.ts';
import { systemClock } from '../platform/clock.ts';
import type { Log, LogProducer, OutgoingRecord } from '../platform/log/log.ts';
import { MemoryLog } from '../platform/log/memory-log.ts';
import { buildGateway, type Gateway } from './app.ts';
import { hashSecret, MemoryDeviceRegistry } from './registry/devices.ts';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const batch = JSON.parse(readFileSync(join(import.meta.dirname, '../protocol/fixtures/valid/bin_batch.json'), 'utf8'));

/** A log whose produce we can hold back or fail, recording what was confirmed. */
class ControlledLog implements Log {
  readonly kind = 'memory' as const;
  readonly confirmed: { topic: string; records: OutgoingRecord[] }[] = [];
  gate: Promise<void> = Promise.resolve();
  fail: Error | null = null;
  private readonly inner = new MemoryLog();
  async ensureTopics(): Promise<void> {}
  async producer(): Promise<LogProducer> {
    return {
      send: async (topic, records) => {
        await this.gate;
        if (this.fail) throw this.fail;
        this.confirmed.push({ topic, records });
      },
      close: async () => {},
    };
  }
  consumer(group: string) {
    return this.inner.consumer(group);
  }
  async close(): Promise<void> {}
}

describe('gateway', () => {
  const log = new ControlledLog();
  const registry = new MemoryDeviceRegistry();
  let gateway: Gateway;

  beforeAll(async () => {
    registry.add({ device_id: 'agent-i35', site: 'waco', enabled: true, secret_hash: await hashSecret('s3cret') });
    registry.add({ device_id: 'agent-off', site: 'waco', enabled: false, secret_hash: await hashSecret('s3cret') });
    registry.add({ device_id: 'ops-console', site: 'waco', enabled: true, role: 'operator', secret_hash: await hashSecret('s3cret') });
    gateway = buildGateway({ mqtt_host: '127.0.0.1', mqtt_port: 0 }, { log, registry, clock: systemClock, logger: pino({ level: 'silent' }), metrics: new Registry() });
    await gateway.start();
  });
  afterAll(() => gateway.stop());

  const connect = (clientId: string, username: string | undefined, password: string | undefined) =>
    mqtt.connectAsync(gateway.url(), { clientId, username, password, protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 5_000 });
  const binsTopic = mqttTopic('waco', 'agent-i35', 'bins');

  it('listens on an ephemeral port, never assuming 1883', () => {
    expect(gateway.url()).toMatch(/^mqtt:\/\/127\.0\.0\.1:\d+$/);
    expect(gateway.url()).not.toMatch(/:1883$/);
  });

  it('sends the PUBACK only after the log confirmed the bins, a record per station keyed by it', async () => {
    const client = await connect('agent-i35', 'agent-i35', 's3cret');
    let release!: () => void;
    log.gate = new Promise((r) => (release = r));
    const before = log.confirmed.length;
    let acked = false;
    const publish = client.publishAsync(binsTopic, encode(batch), { qos: 1 }).then(() => (acked = true));
    await new Promise((r) => setTimeout(r, 300));
    expect(acked).toBe(false); // the log has not confirmed yet
    release();
    await publish;
    const sent = log.confirmed.slice(before);
    expect(sent).toHaveLength(1);
    expect(sent[0]!.topic).toBe(KAFKA_TOPICS.bins);
    // Both bins are one station's: the agent's message is the record, as received.
    expect(sent[0]!.records.map((r) => [r.key, decode('bin_batch', r.value).bins.map((b) => b.seq), r.headers?.type])).toEqual([
      ['i35-n-lp340', [41, 42], 'bin_batch'],
    ]);
    await client.endAsync();
  });

  it('withholds the PUBACK and drops the connection when the log fails, so the agent keeps the bins', async () => {
    const client = await connect('agent-i35', 'agent-i35', 's3cret');
    log.fail = new Error('broker down');
    const closed = new Promise<void>((r) => client.once('close', () => r()));
    let acked = false;
    void client.publishAsync(binsTopic, encode(batch), { qos: 1 }).then(() => (acked = true), () => {});
    await closed;
    expect(acked).toBe(false);
    log.fail = null;
    client.end(true);
  });

  it('dead-letters an undecodable payload with the field and reason, and still acknowledges it', async () => {
    const client = await connect('agent-i35', 'agent-i35', 's3cret');
    const before = log.confirmed.length;
    const bad = structuredClone(batch);
    bad.bins[0].bin_start_ms += 1_000;
    await client.publishAsync(binsTopic, encode(bad), { qos: 1 });
    const [dlq] = log.confirmed.slice(before);
    expect(dlq!.topic).toBe(KAFKA_TOPICS.dlq);
    const letter = decode('dead_letter', dlq!.records[0]!.value);
    expect(letter).toMatchObject({ stage: 'gateway', field: 'bins.0.bin_start_ms', source: { transport: 'mqtt', address: binsTopic, client_id: 'agent-i35' } });
    expect(Buffer.from(letter.payload_base64, 'base64').toString()).toBe(encode(bad).toString());
    await client.endAsync();
  });

  it.each([
    ['no credentials', 'agent-i35', undefined, undefined],
    ['a wrong password', 'agent-i35', 'agent-i35', 'nope'],
    ['an unknown device', 'agent-x', 'agent-x', 's3cret'],
    ['a disabled device', 'agent-off', 'agent-off', 's3cret'],
    ['a clientId that is not the username', 'someone-else', 'agent-i35', 's3cret'],
  ])('refuses a connection with %s', async (_what, clientId, username, password) => {
    await expect(connect(clientId, username, password)).rejects.toThrow(/Connection refused/);
  });

  it("closes a device that publishes under another device's topic, forwarding nothing", async () => {
    const client = await connect('agent-i35', 'agent-i35', 's3cret');
    const before = log.confirmed.length;
    const closed = new Promise<void>((r) => client.once('close', () => r()));
    void client.publishAsync(mqttTopic('waco', 'agent-other', 'bins'), encode(batch), { qos: 1 }).catch(() => {});
    await closed;
    expect(log.confirmed.length).toBe(before);
    client.end(true);
  });

  it('refuses bins at QoS 0, which has no acknowledgement to keep them safe', async () => {
    const client = await connect('agent-i35', 'agent-i35', 's3cret');
    const before = log.confirmed.length;
    const closed = new Promise<void>((r) => client.once('close', () => r()));
    client.publish(binsTopic, encode(batch), { qos: 0 });
    await closed;
    expect(log.confirmed.length).toBe(before);
    client.end(true);
  });

  it("stamps a status with the gateway's time, so a last will written at connect still reads as the newest", async () => {
    const client = await connect('agent-i35', 'agent-i35', 's3cret');
    const before = log.confirmed.length;
    const t = Date.now();
    await client.publishAsync(mqttTopic('waco', 'agent-i35', 'status'), encode({ v: 1, device_id: 'agent-i35', state: 'offline', ts_ms: 1 }), { qos: 1 });
    const [rec] = log.confirmed.slice(before);
    expect(rec!.topic).toBe(KAFKA_TOPICS.health);
    expect(rec!.records[0]!.headers).toEqual({ type: 'status' });
    expect(decode('status', rec!.records[0]!.value).ts_ms).toBeGreaterThanOrEqual(t);
    await client.endAsync();
  });

  it('grants a device only what is sent down to it: fleet, site and own config, and releases', async () => {
    const client = await connect('agent-i35', 'agent-i35', 's3cret');
    const mine = mqttConfigTopics('waco', 'agent-i35');
    const topics = [
      mine.fleet, mine.site, mine.device, MQTT_RELEASE_TOPIC,
      '#', '$SYS/#', mqttTopic('waco', 'agent-other', 'config'), mqttConfigTopics('austin', 'agent-i35').site, mqttTopic('waco', 'agent-i35', 'bins'),
    ];
    // mqtt.js rejects a SUBACK that holds any 0x80 failure code; the packet still carries every return code.
    const err = (await client.subscribeAsync(topics, { qos: 1 }).then(() => null, (e: unknown) => e)) as { packet?: { granted: number[] } } | null;
    expect(err?.packet?.granted).toEqual([1, 1, 1, 1, 128, 128, 128, 128, 128]);
    expect(client.connected).toBe(true); // refused subscriptions do not cost the device its connection
    await client.endAsync();
  });

  it('lets an operator watch the fleet and write a device its config, but never speak for a device', async () => {
    const ops = await connect('ops-console', 'ops-console', 's3cret');
    const granted = await ops.subscribeAsync('wacoflow/v1/#', { qos: 1 });
    expect(granted.map((g) => g.qos)).toEqual([1]);
    const device = await connect('agent-i35', 'agent-i35', 's3cret');
    await device.subscribeAsync(mqttTopic('waco', 'agent-i35', 'config'), { qos: 1 });
    const configArrived = new Promise<string>((r) => device.on('message', (_t, p) => r(p.toString())));
    const seen = new Promise<string>((r) => ops.on('message', (t) => t.endsWith('/status') && r(t)));
    await device.publishAsync(mqttTopic('waco', 'agent-i35', 'status'), encode({ v: 1, device_id: 'agent-i35', state: 'online', ts_ms: 1 }), { qos: 1, retain: true });
    expect(await seen).toBe(mqttTopic('waco', 'agent-i35', 'status'));
    await ops.publishAsync(mqttTopic('waco', 'agent-i35', 'config'), Buffer.from('{"bin_ms":60000}'), { qos: 1 });
    expect(await configArrived).toBe('{"bin_ms":60000}');
    const closed = new Promise<void>((r) => ops.once('close', () => r()));
    void ops.publishAsync(binsTopic, encode(batch), { qos: 1 }).catch(() => {});
    await closed;
    await device.endAsync();
    ops.end(true);
  });
});
