import { describe, expect, it } from 'vitest';
import { binKey, KAFKA_TOPICS, MQTT_ALL, MQTT_RELEASE_TOPIC, mqttConfigTopics, mqttDevicePrefix, mqttTopic, parseMqttTopic } from './topics.ts';

describe('MQTT topics', () => {
  it.each([
    ['bins', 'wacoflow/v1/waco/agent-1/bins'],
    ['health', 'wacoflow/v1/waco/agent-1/health'],
    ['status', 'wacoflow/v1/waco/agent-1/status'],
    ['config', 'wacoflow/v1/waco/agent-1/config'],
    ['release', 'wacoflow/v1/waco/agent-1/release'],
  ] as const)('%s round-trips', (kind, topic) => {
    expect(mqttTopic('waco', 'agent-1', kind)).toBe(topic);
    expect(parseMqttTopic(topic)).toEqual({ site: 'waco', device_id: 'agent-1', kind });
    expect(topic.startsWith(mqttDevicePrefix('waco', 'agent-1'))).toBe(true);
  });

  it.each([
    'wacoflow/v2/waco/agent-1/bins',
    'wacoflow/v1/waco/agent-1',
    'wacoflow/v1/waco/agent-1/unknown',
    'wacoflow/v1//agent-1/bins',
    'other/v1/waco/agent-1/bins',
    '$SYS/broker/uptime',
  ])('rejects %s', (topic) => {
    expect(parseMqttTopic(topic)).toBeNull();
  });
});

describe('downward topics', () => {
  it('give each board its fleet, site and own config topic, which parse back to their scope', () => {
    const t = mqttConfigTopics('waco', 'agent-1');
    expect(t).toEqual({ fleet: 'wacoflow/v1/_all/_all/config', site: 'wacoflow/v1/waco/_all/config', device: 'wacoflow/v1/waco/agent-1/config' });
    expect(parseMqttTopic(t.site)).toEqual({ site: 'waco', device_id: MQTT_ALL, kind: 'config' });
    expect(parseMqttTopic(MQTT_RELEASE_TOPIC)).toEqual({ site: MQTT_ALL, device_id: MQTT_ALL, kind: 'release' });
  });
});

describe('Kafka topics and keys', () => {
  it('are versioned names and station-keyed bins', () => {
    expect(Object.values(KAFKA_TOPICS).every((t) => /^wacoflow\.[a-z]+\.v1$/.test(t))).toBe(true);
    expect(binKey({ station_id: 'i35-n-lp340' })).toBe('i35-n-lp340');
  });
});
