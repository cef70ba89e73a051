/**
 * SUBSCRIBE: a device may subscribe only to what is sent down to it (the fleet's, its site's and its own config
 * topic, and the fleet's release announcements); an operator (a tool) to the fleet's topics. Anything else
 * (wildcards, $SYS, another device's or site's topics) gets the 0x80 failure return code in SUBACK
 * (MQTT 3.1.1 §3.9.3), not a disconnect.
 */
import type { Client, Subscription } from 'aedes';
import { MQTT_RELEASE_TOPIC, MQTT_ROOT, mqttConfigTopics } from '../../protocol/index.ts';
import type { GatewayMetrics } from '../metrics.ts';
import type { Sessions } from './session.ts';

export function authorizeSubscribe(sessions: Sessions, metrics: GatewayMetrics) {
  return (client: Client, sub: Subscription, callback: (err: Error | null, sub?: Subscription | null) => void): void => {
    const session = sessions.get(client);
    if (session?.role === 'device') {
      const config = mqttConfigTopics(session.site, session.device_id);
      if (sub.topic === config.fleet || sub.topic === config.site || sub.topic === config.device || sub.topic === MQTT_RELEASE_TOPIC) return callback(null, sub);
    }
    // Operators (tools) may watch the fleet: anything under wacoflow/v1/, wildcards included; never $SYS.
    if (session?.role === 'operator' && (sub.topic === `${MQTT_ROOT}/#` || sub.topic.startsWith(`${MQTT_ROOT}/`))) return callback(null, sub);
    metrics.authFailures.inc({ reason: 'subscribe_not_allowed' });
    callback(null, null);
  };
}
