/**
 * SUBSCRIBE: a device may subscribe only to its own config topic; an operator (a tool) to the fleet's topics. Anything else (wildcards, $SYS, another
 * device's topics) gets the 0x80 failure return code in SUBACK (MQTT 3.1.1 §3.9.3), not a disconnect.
 */
import type { Client, Subscription } from 'aedes';
import { MQTT_ROOT, mqttTopic } from '../../protocol/index.ts';
import type { GatewayMetrics } from '../metrics.ts';
import type { Sessions } from './session.ts';

export function authorizeSubscribe(sessions: Sessions, metrics: GatewayMetrics) {
  return (client: Client, sub: Subscription, callback: (err: Error | null, sub?: Subscription | null) => void): void => {
    const session = sessions.get(client);
    if (session && sub.topic === mqttTopic(session.site, session.device_id, 'config')) return callback(null, sub);
    // Operators (tools) may watch the fleet: anything under wacoflow/v1/, wildcards included; never $SYS.
    if (session?.role === 'operator' && (sub.topic === `${MQTT_ROOT}/#` || sub.topic.startsWith(`${MQTT_ROOT}/`))) return callback(null, sub);
    metrics.authFailures.inc({ reason: 'subscribe_not_allowed' });
    callback(null, null);
  };
}
