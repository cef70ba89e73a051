/** The uplink over TLS to a real broker (Mosquitto with a TLS listener), with and without client certificates. */
import { readFileSync } from 'node:fs';
import mqtt from 'mqtt';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decode, mqttTopic } from '../../protocol/index.ts';
import { systemClock } from '../../platform/clock.ts';
import { startTlsBroker, tlsToolsAvailable, type TlsBroker } from '../../test/tls-broker.ts';
import { MemoryOutbox } from '../outbox/memory-outbox.ts';
import { MemorySeqSource } from '../outbox/seq-file.ts';
import { MqttUplink } from './mqtt-uplink.ts';

const required = process.env.WACOFLOW_REQUIRE_SERVICES === '1';

describe.skipIf(!tlsToolsAvailable() && !required)('uplink over TLS (mutual TLS broker)', () => {
  let broker: TlsBroker;
  beforeAll(async () => {
    broker = await startTlsBroker({ require_client_cert: true });
  });
  afterAll(() => broker.stop());

  const uplink = (tls: { ca?: string; cert?: string; key?: string }) =>
    new MqttUplink(
      { url: broker.url, site: 'waco', device_id: 'agent-tls', password: 'unused', max_bins_per_message: 10, max_inflight_messages: 1, ack_timeout_ms: 5_000, reconnect_ms: 500, live_window_ms: 300_000, backlog_bins_per_s: null, tls },
      { outbox: new MemoryOutbox(new MemorySeqSource(0)), clock: systemClock, logger: pino({ level: 'silent' }), takeDropped: () => ({}), restoreDropped: () => {} },
    );

  it('connects with the CA and its client certificate and publishes its retained online status', async () => {
    const u = uplink({ ca: readFileSync(broker.ca, 'utf8'), cert: readFileSync(broker.client_cert, 'utf8'), key: readFileSync(broker.client_key, 'utf8') });
    u.start();
    const deadline = Date.now() + 10_000;
    while (!u.connected() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(u.connected()).toBe(true);
    const watcher = await mqtt.connectAsync(broker.url, {
      ca: readFileSync(broker.ca), cert: readFileSync(broker.client_cert), key: readFileSync(broker.client_key), clientId: 'watcher', reconnectPeriod: 0,
    });
    const status = new Promise<Buffer>((resolve) => watcher.on('message', (_t, payload) => resolve(payload)));
    await watcher.subscribeAsync(mqttTopic('waco', 'agent-tls', 'status'), { qos: 1 });
    expect(decode('status', await status)).toMatchObject({ device_id: 'agent-tls', state: 'online' });
    await watcher.endAsync();
    await u.stop();
  });

  it('stays disconnected without a client certificate where the broker requires one', async () => {
    const u = uplink({ ca: readFileSync(broker.ca, 'utf8') });
    u.start();
    await new Promise((r) => setTimeout(r, 1_500));
    expect(u.connected()).toBe(false);
    await u.stop();
  });

  it('refuses a broker whose certificate it cannot verify', async () => {
    const u = uplink({}); // no CA: the test CA is not trusted
    u.start();
    await new Promise((r) => setTimeout(r, 1_500));
    expect(u.connected()).toBe(false);
    await u.stop();
  });
});
