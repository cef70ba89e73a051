/**
 * PUBLISH. aedes calls this hook before it writes the PUBACK (QoS 1) and waits for our callback, so the
 * PUBACK means: the log has the records (ARCHITECTURE.md, the acknowledgement chain, step 2). An error makes
 * aedes close the connection without acknowledging; the agent keeps the bins and resends.
 *
 * A device may publish only under wacoflow/v1/<its site>/<its id>/. Wills arrive with no client: aedes
 * publishes them itself after an ungraceful disconnect, from the topic the device registered at CONNECT.
 */
import type { Client, PublishPacket } from 'aedes';
import type { Logger } from 'pino';
import { parseMqttTopic, type TopicSet } from '../../protocol/index.ts';
import type { Clock } from '../../platform/clock.ts';
import type { LogProducer } from '../../platform/log/log.ts';
import { forward } from '../bridge/bridge.ts';
import type { GatewayMetrics } from '../metrics.ts';
import type { Breaker } from '../../platform/breaker.ts';
import type { Sessions } from './session.ts';

export interface PublishLimits {
  max_inflight_per_client: number;
  max_inflight_total: number;
  max_messages_per_s_per_client: number;
  /** Opens after repeated produce failures: publishes are refused at once (no PUBACK) until it half-opens. */
  breaker: Breaker;
  /** Publishes waiting for the log, all devices; `draining` once the gateway is stopping. */
  inflight: { n: number; draining: boolean };
  /** Where forwarded records go. */
  topics: TopicSet;
}

export function authorizePublish(
  producer: () => LogProducer | null,
  sessions: Sessions,
  metrics: GatewayMetrics,
  clock: Clock,
  logger: Logger,
  limits: PublishLimits,
) {
  return (client: Client | null, packet: PublishPacket, callback: (err?: Error | null) => void): void => {
    const topic = parseMqttTopic(packet.topic);
    const session = sessions.get(client);
    const isWill = client === null;
    const refuse = (reason: string): void => {
      metrics.authFailures.inc({ reason });
      metrics.messages.inc({ kind: topic?.kind ?? 'unknown', result: 'refused' });
      callback(new Error(`publish refused: ${reason}`));
    };
    if (!topic) return refuse('topic_outside_namespace');
    if (session?.role === 'operator') {
      // A tool writes configuration and announces releases, nothing else: it cannot speak for a device. What it
      // writes is forwarded to the admin topic like a device's bins, so the PUBACK means every gateway has it.
      if (topic.kind !== 'config' && topic.kind !== 'release') return refuse('operator_publish_outside_config');
    } else {
      if (!isWill && (!session || session.device_id !== topic.device_id || session.site !== topic.site)) return refuse('foreign_topic');
      if (topic.kind === 'config' || topic.kind === 'release') return refuse('device_publish_to_config');
      // QoS 0 has no PUBACK, so a bin sent that way could be lost without the agent knowing: refuse it.
      if (topic.kind === 'bins' && packet.qos === 0) return refuse('bins_without_qos1');
      if (isWill && topic.kind !== 'status') return refuse('will_not_status');
    }

    // Backpressure (checked for device publishes; wills come from the broker itself).
    if (session) {
      const now = Date.now();
      const rate = limits.max_messages_per_s_per_client;
      session.tokens = Math.min(2 * rate, (session.tokens === Number.POSITIVE_INFINITY ? 2 * rate : session.tokens) + ((now - session.tokens_at_ms) * rate) / 1000);
      session.tokens_at_ms = now;
      if (session.tokens < 1) return refuse('rate_limit');
      session.tokens -= 1;
      if (session.inflight >= limits.max_inflight_per_client) return refuse('inflight_limit');
    }
    if (limits.inflight.n >= limits.max_inflight_total) return refuse('gateway_busy');
    if (limits.inflight.draining) {
      // Stopping: what is in flight is acknowledged, nothing new is taken; the device resends to another gateway.
      metrics.messages.inc({ kind: topic.kind, result: 'refused' });
      return callback(new Error('gateway stopping'));
    }
    if (!limits.breaker.allows(clock.now())) {
      // Kafka is away: refuse at once, so devices keep their bins instead of piling up behind a dead producer.
      metrics.messages.inc({ kind: topic.kind, result: 'refused' });
      return callback(new Error('log unavailable (breaker open)'));
    }
    const log = producer();
    if (!log) return callback(new Error('gateway is not connected to the log'));
    if (session) session.inflight++;
    limits.inflight.n++;
    const payload = Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload);
    metrics.bytes.inc(payload.length);
    metrics.inflight.inc();
    const stop = metrics.produceSeconds.startTimer();
    forward(log, { topic: packet.topic, kind: topic.kind, device_id: topic.device_id, client_id: client?.id ?? null, payload, received_ms: clock.now() }, limits.topics)
      .then(
        (result) => {
          limits.breaker.success(clock.now());
          metrics.messages.inc({ kind: topic.kind, result });
          if (result === 'dead_lettered') logger.warn({ device_id: topic.device_id, topic: packet.topic }, 'undecodable payload dead-lettered');
          callback(null);
        },
        (err: unknown) => {
          limits.breaker.failure(clock.now());
          metrics.messages.inc({ kind: topic.kind, result: 'failed' });
          logger.warn({ err, device_id: topic.device_id }, 'log did not confirm the publish; not acknowledging it');
          callback(err instanceof Error ? err : new Error(String(err)));
        },
      )
      .finally(() => {
        stop();
        metrics.inflight.dec();
        if (session) session.inflight--;
        limits.inflight.n--;
      });
  };
}
