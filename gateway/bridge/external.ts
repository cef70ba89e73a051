/**
 * External-broker mode: instead of running its own broker, the gateway subscribes to an existing one (Mosquitto,
 * EMQX …) with a persistent session, and acknowledges each QoS 1 message to that broker only after the log has
 * it. If the log refuses, the message stays unacknowledged: the bridge drops the connection, and the broker
 * delivers it again when the bridge reconnects (MQTT 3.1.1 §4.4, message delivery retry).
 */
import mqtt, { type IPublishPacket, type MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import { kafkaTopics, MQTT_ROOT, parseMqttTopic } from '../../protocol/index.ts';
import type { Clock } from '../../platform/clock.ts';
import type { Log, LogProducer } from '../../platform/log/log.ts';
import { noDelay } from '../../platform/net.ts';
import type { GatewayMetrics } from '../metrics.ts';
import { forward } from './bridge.ts';

export interface ExternalBridgeConfig {
  url: string;
  /** Fixed, so the broker keeps this bridge's session (and its unacknowledged messages) across reconnects. */
  client_id: string;
  username?: string;
  password?: string;
  /** Sites to bridge ('+' for all). */
  site: string;
  reconnect_ms: number;
  /** Kafka topics under this prefix; absent: the protocol's names. */
  topic_prefix?: string | null;
}

export interface ExternalBridge {
  start(): Promise<void>;
  stop(): Promise<void>;
  forwarded(): number;
  /** Whether the session with the external broker is up. */
  connected(): boolean;
}

export function buildExternalBridge(config: ExternalBridgeConfig, deps: { log: Log; clock: Clock; logger: Logger; metrics: GatewayMetrics }): ExternalBridge {
  let client: MqttClient | null = null;
  let producer: LogProducer | null = null;
  let count = 0;
  const topics = ['bins', 'health', 'status'].map((k) => `${MQTT_ROOT}/${config.site}/+/${k}`);

  return {
    forwarded: () => count,
    connected: () => client?.connected ?? false,
    async start() {
      producer = await deps.log.producer();
      const p = producer;
      const c = mqtt.connect(config.url, {
        protocolVersion: 4, clientId: config.client_id, clean: false, reconnectPeriod: config.reconnect_ms,
        ...(config.username ? { username: config.username, password: config.password } : {}),
      });
      client = c;
      // mqtt.js sends the PUBACK only after this callback succeeds; an error leaves the message unacknowledged.
      c.handleMessage = (packet: IPublishPacket, done: (err?: Error) => void): void => {
        const topic = parseMqttTopic(packet.topic);
        if (!topic) return done();
        const payload = Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload);
        const stop = deps.metrics.produceSeconds.startTimer();
        forward(p, { topic: packet.topic, kind: topic.kind, device_id: topic.device_id, client_id: null, payload, received_ms: deps.clock.now() }, kafkaTopics(config.topic_prefix ?? null)).then(
          (result) => {
            stop();
            deps.metrics.messages.inc({ kind: topic.kind, result });
            count++;
            done();
          },
          (err: unknown) => {
            stop();
            deps.metrics.messages.inc({ kind: topic.kind, result: 'failed' });
            deps.logger.warn({ err, topic: packet.topic }, 'log refused a bridged message: reconnecting so the broker delivers it again');
            // Without a PUBACK the broker redelivers only on a new connection of this session.
            c.stream?.destroy();
            done(err instanceof Error ? err : new Error(String(err)));
          },
        );
      };
      c.on('error', (err) => deps.logger.warn({ err: err.message }, 'external broker error'));
      // Each PUBACK goes to the broker the moment Kafka confirmed the message.
      c.on('connect', () => noDelay(c));
      await new Promise<void>((resolve, reject) => {
        c.once('connect', (ack) => {
          // With a resumed session the broker already has our subscriptions; subscribing again is harmless.
          c.subscribe(topics, { qos: 1 }, (err) => (err ? reject(err) : resolve()));
          void ack;
        });
        c.once('error', reject);
      });
      deps.logger.info({ broker: config.url, topics }, 'bridging an external broker');
    },
    async stop() {
      await client?.endAsync().catch(() => {});
      await producer?.close();
    },
  };
}
