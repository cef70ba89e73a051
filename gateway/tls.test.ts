/** The gateway's TLS listener with mutual TLS: each case of the security matrix that needs certificates. */
import { readFileSync } from 'node:fs';
import mqtt from 'mqtt';
import pino from 'pino';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encode, KAFKA_TOPICS, mqttTopic } from '../protocol/index.ts';
import { systemClock } from '../platform/clock.ts';
import { MemoryLog } from '../platform/log/memory-log.ts';
import { makeCerts, tlsToolsAvailable, type TestCerts } from '../test/tls-broker.ts';
import { buildGateway, type Gateway } from './app.ts';
import { hashSecret, MemoryDeviceRegistry } from './registry/devices.ts';

const required = process.env.WACOFLOW_REQUIRE_SERVICES === '1';
const hb = JSON.parse(readFileSync(new URL('../protocol/fixtures/valid/heartbeat.json', import.meta.url), 'utf8'));

describe.skipIf(!tlsToolsAvailable() && !required)('gateway over mutual TLS', () => {
  let certs: TestCerts;
  let stranger: TestCerts;
  let gateway: Gateway;
  const log = new MemoryLog();
  const registry = new Registry();

  beforeAll(async () => {
    certs = makeCerts('agent-tls');
    stranger = makeCerts('agent-tls'); // same name, another CA
    await log.ensureTopics(Object.values(KAFKA_TOPICS).map((name) => ({ name, partitions: 1 })));
    const devices = new MemoryDeviceRegistry();
    devices.add({ device_id: 'agent-tls', site: 'waco', enabled: true, secret_hash: await hashSecret('pw') });
    devices.add({ device_id: 'agent-b', site: 'waco', enabled: true, secret_hash: await hashSecret('pw') });
    gateway = buildGateway(
      {
        mqtt_host: '127.0.0.1', mqtt_port: 0,
        tls: { port: 0, cert: readFileSync(certs.server_cert, 'utf8'), key: readFileSync(certs.server_key, 'utf8'), ca: readFileSync(certs.ca, 'utf8'), require_client_cert: true },
      },
      { log, registry: devices, clock: systemClock, logger: pino({ level: 'silent' }), metrics: registry },
    );
    await gateway.start();
  });
  afterAll(() => gateway.stop());

  const connect = (username: string, c: { cert?: string; key?: string; ca?: string }) =>
    mqtt.connectAsync(gateway.tlsUrl(), {
      clientId: username, username, password: 'pw', reconnectPeriod: 0, connectTimeout: 5_000,
      ...(c.ca ? { ca: readFileSync(c.ca) } : {}), ...(c.cert ? { cert: readFileSync(c.cert), key: readFileSync(c.key!) } : {}),
    });

  it('lets in a device whose certificate names it, and forwards what it publishes', async () => {
    const client = await connect('agent-tls', { ca: certs.ca, cert: certs.client_cert, key: certs.client_key });
    await client.publishAsync(mqttTopic('waco', 'agent-tls', 'health'), encode({ ...hb, device_id: 'agent-tls' }), { qos: 1 });
    expect(log.read({ topic: KAFKA_TOPICS.health, partition: 0 }, 0, 10).records).toHaveLength(1);
    await client.endAsync();
  });

  /** Connects and reports how it ended: a refused TLS handshake may surface as an error or as a bare close. */
  const outcome = (username: string, c: { cert?: string; key?: string; ca?: string }) =>
    new Promise<'connected' | 'refused'>((resolve) => {
      const client = mqtt.connect(gateway.tlsUrl(), {
        clientId: username, username, password: 'pw', reconnectPeriod: 0, connectTimeout: 5_000,
        ...(c.ca ? { ca: readFileSync(c.ca) } : {}), ...(c.cert ? { cert: readFileSync(c.cert), key: readFileSync(c.key!) } : {}),
      });
      client.once('connect', () => {
        client.end(true);
        resolve('connected');
      });
      client.once('error', () => resolve('refused'));
      client.once('close', () => resolve('refused'));
    });

  it.each([
    ['no client certificate', () => ({ ca: certs.ca })],
    ['a certificate from another CA', () => ({ ca: certs.ca, cert: stranger.client_cert, key: stranger.client_key })],
  ])('refuses %s at the handshake', async (_what, c) => {
    expect(await outcome('agent-tls', c())).toBe('refused');
    expect(await outcome('agent-tls', { ca: certs.ca, cert: certs.client_cert, key: certs.client_key })).toBe('connected'); // and the right one still gets in
  });

  it("refuses a device presenting another device's certificate, and counts it", async () => {
    await expect(connect('agent-b', { ca: certs.ca, cert: certs.client_cert, key: certs.client_key })).rejects.toThrow(/Not authorized|Connection refused/);
    expect(await registry.metrics()).toMatch(/wacoflow_gateway_auth_failures_total\{reason="certificate_names_another_device"\} 1/);
  });
});
