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
import { parseMqttTopic } from '../../protocol/index.ts';
import type { Clock } from '../../platform/clock.ts';
import type { LogProducer } from '../../platform/log/log.ts';
import { forward } from '../bridge/bridge.ts';
import type { GatewayMetrics } from '../metrics.ts';
import type { Sessions } from './session.ts';

export function authorizePublish(
  producer: () => LogProducer | null,
  sessions: Sessions,
  metrics: GatewayMetrics,
  clock: Clock,
  logger: Logger,
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
    if (!isWill && (!session || session.device_id !== topic.device_id || session.site !== topic.site)) return refuse('foreign_topic');
    if (topic.kind === 'config') return refuse('device_publish_to_config');
    // QoS 0 has no PUBACK, so a bin sent that way could be lost without the agent knowing: refuse it.
    if (topic.kind === 'bins' && packet.qos === 0) return refuse('bins_without_qos1');
    if (isWill && topic.kind !== 'status') return refuse('will_not_status');

    const log = producer();
    if (!log) return callback(new Error('gateway is not connected to the log'));
    const payload = Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload);
    metrics.bytes.inc(payload.length);
    metrics.inflight.inc();
    const stop = metrics.produceSeconds.startTimer();
    forward(log, { topic: packet.topic, kind: topic.kind, device_id: topic.device_id, client_id: client?.id ?? null, payload, received_ms: clock.now() })
      .then(
        (result) => {
          metrics.messages.inc({ kind: topic.kind, result });
          if (result === 'dead_lettered') logger.warn({ device_id: topic.device_id, topic: packet.topic }, 'undecodable payload dead-lettered');
          callback(null);
        },
        (err: unknown) => {
          metrics.messages.inc({ kind: topic.kind, result: 'failed' });
          logger.warn({ err, device_id: topic.device_id }, 'log did not confirm the publish; not acknowledging it');
          callback(err instanceof Error ? err : new Error(String(err)));
        },
      )
      .finally(() => {
        stop();
        metrics.inflight.dec();
      });
  };
}
