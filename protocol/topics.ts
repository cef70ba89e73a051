/**
 * Topic names and keys. MQTT topics carry the site and device so the gateway's ACL is a prefix check:
 * a device may publish only under `wacoflow/v1/<site>/<its id>/`.
 */
import type { Bin } from './v1/bin.ts';

export const MQTT_ROOT = 'wacoflow/v1';

/**
 * Upward (agent → gateway: bins, health, status) and downward (operator → agents: config, release) MQTT topic
 * kinds. A board acknowledges a configuration in its heartbeat (`config.applied_hash`), not on a topic of its own.
 */
export const MQTT_KINDS = ['bins', 'health', 'status', 'config', 'release'] as const;
export type MqttKind = (typeof MQTT_KINDS)[number];

export function mqttTopic(site: string, device_id: string, kind: MqttKind): string {
  return `${MQTT_ROOT}/${site}/${device_id}/${kind}`;
}

/**
 * Stands for "every site" or "every device" in a downward topic. Ids start with a letter or digit, so it can
 * never be a real site's or device's id.
 */
export const MQTT_ALL = '_all';

/** A board's three configuration topics, in the order they apply: fleet, its site, itself. */
export function mqttConfigTopics(site: string, device_id: string): { fleet: string; site: string; device: string } {
  return { fleet: mqttTopic(MQTT_ALL, MQTT_ALL, 'config'), site: mqttTopic(site, MQTT_ALL, 'config'), device: mqttTopic(site, device_id, 'config') };
}

/** The fleet's release announcements (one retained message: the latest release). */
export const MQTT_RELEASE_TOPIC = `${MQTT_ROOT}/${MQTT_ALL}/${MQTT_ALL}/release`;

export function mqttDevicePrefix(site: string, device_id: string): string {
  return `${MQTT_ROOT}/${site}/${device_id}/`;
}

export interface ParsedMqttTopic {
  site: string;
  device_id: string;
  kind: MqttKind;
}

export function parseMqttTopic(topic: string): ParsedMqttTopic | null {
  const parts = topic.split('/');
  if (parts.length < 5 || `${parts[0]}/${parts[1]}` !== MQTT_ROOT) return null;
  const [, , site, device_id, ...rest] = parts;
  const kind = rest.join('/');
  if (!site || !device_id || !(MQTT_KINDS as readonly string[]).includes(kind)) return null;
  return { site, device_id, kind: kind as MqttKind };
}

export const KAFKA_TOPICS = {
  bins: 'wacoflow.bins.v1',
  health: 'wacoflow.health.v1',
  dlq: 'wacoflow.dlq.v1',
  windows: 'wacoflow.windows.v1',
  alerts: 'wacoflow.alerts.v1',
  /** Operators' device commands (compacted: the latest per device is kept for good). */
  admin: 'wacoflow.admin.v1',
} as const;
export type KafkaTopicName = (typeof KAFKA_TOPICS)[keyof typeof KAFKA_TOPICS];
export type TopicSet = { [K in keyof typeof KAFKA_TOPICS]: string };

/** A topic prefix, e.g. for a staging deployment sharing the cluster: a prefix, a dot, the topic name. */
export const TOPIC_PREFIX = /^[A-Za-z0-9][A-Za-z0-9._-]{0,100}$/;

/** The protocol's topic names, under `prefix` when one is given ("staging" → "staging.wacoflow.bins.v1"). */
export function kafkaTopics(prefix: string | null = null): TopicSet {
  if (!prefix) return { ...KAFKA_TOPICS };
  return Object.fromEntries(Object.entries(KAFKA_TOPICS).map(([k, name]) => [k, `${prefix}.${name}`])) as TopicSet;
}

/** Bins are keyed by station so one station's detectors land in one partition and roll up without a shuffle. */
export function binKey(bin: Pick<Bin, 'station_id'>): string {
  return bin.station_id;
}

/** Health and status are keyed by device so one device's history stays in order. */
export function healthKey(device_id: string): string {
  return device_id;
}
