/**
 * From an MQTT publish to log records. Valid bins go to wacoflow.bins.v1 (a record per station of the message,
 * keyed by station: protocol/bin-records.ts);
 * heartbeats and statuses to wacoflow.health.v1 (keyed by device); anything undecodable to wacoflow.dlq.v1 with
 * the reason. `forward` resolves only once the log has the records: the caller acknowledges after that.
 */
import { binRecords, encode, healthKey, KAFKA_TOPICS, tryDecode, type DeadLetter, type MqttKind, type TopicSet } from '../../protocol/index.ts';
import type { LogProducer } from '../../platform/log/log.ts';

/** The admin-topic record type of a retained downward message (config document or release announcement). */
export const DOWNLINK_HEADER = 'downlink';

export type ForwardResult = 'forwarded' | 'dead_lettered';

export interface Publish {
  topic: string;
  kind: MqttKind;
  device_id: string;
  client_id: string | null;
  payload: Buffer;
  received_ms: number;
}

export async function forward(producer: LogProducer, p: Publish, topics: Pick<TopicSet, 'bins' | 'health' | 'dlq' | 'admin'> = KAFKA_TOPICS): Promise<ForwardResult> {
  const dead = async (reason: string, field: string | null): Promise<ForwardResult> => {
    const letter: DeadLetter = {
      v: 1,
      received_ms: p.received_ms,
      stage: 'gateway',
      reason,
      field,
      source: { transport: 'mqtt', address: p.topic, client_id: p.client_id },
      payload_base64: p.payload.toString('base64'),
    };
    await producer.send(topics.dlq, [{ key: p.device_id, value: encode(letter), headers: { type: 'dead_letter' } }]);
    return 'dead_lettered';
  };
  const mismatch = (device_id: string): Promise<ForwardResult> =>
    dead(`payload device_id ${device_id} does not match the topic's device ${p.device_id}`, 'device_id');

  switch (p.kind) {
    case 'bins': {
      const d = tryDecode('bin_batch', p.payload);
      if (!d.ok) return dead(d.error.message, d.error.field);
      if (d.value.device_id !== p.device_id) return mismatch(d.value.device_id);
      await producer.send(topics.bins, binRecords(d.value, p.payload));
      return 'forwarded';
    }
    case 'health':
    case 'status': {
      const d = p.kind === 'health' ? tryDecode('heartbeat', p.payload) : tryDecode('status', p.payload);
      if (!d.ok) return dead(d.error.message, d.error.field);
      if (d.value.device_id !== p.device_id) return mismatch(d.value.device_id);
      const type = p.kind === 'health' ? 'heartbeat' : 'status';
      // A status is stamped with the gateway's receive time: a last will's payload was written when the device
      // connected, so its own time would make "offline" older than the "online" it follows (and boards have no
      // real-time clock to trust anyway).
      const value = p.kind === 'status' ? { ...d.value, ts_ms: p.received_ms } : d.value;
      await producer.send(topics.health, [{ key: healthKey(p.device_id), value: encode(value), headers: { type } }]);
      return 'forwarded';
    }
    case 'config':
    case 'release': {
      // An operator's document for boards: kept in the compacted admin topic under its MQTT topic, so every
      // gateway (and this one after a restart) publishes it again as the retained message boards receive.
      // An empty payload withdraws the retained message (MQTT 3.1.1 §3.3.1.3): it travels like a document.
      if (p.payload.length > 0) {
        const d = p.kind === 'config' ? tryDecode('config_document', p.payload) : tryDecode('release_announcement', p.payload);
        if (!d.ok) return dead(d.error.message, d.error.field);
      }
      await producer.send(topics.admin, [{ key: p.topic, value: p.payload, headers: { type: DOWNLINK_HEADER } }]);
      return 'forwarded';
    }
  }
}
