/**
 * The fleet as operators see it: one row per device from its status and its latest heartbeat, with the health
 * of the detectors it reads (the open detector-health alerts on detectors whose latest data it sent), and what it
 * last reported about its remote configuration and software updates (null from agents that predate those reports).
 */
import type { Alert, ConfigReport } from '../protocol/index.ts';
import type { FleetDevice } from './http/api.ts';
import type { DetectorRow, DeviceRow } from './store/rows.ts';

export function toFleetDevices(devices: DeviceRow[], detectors: DetectorRow[], openAlerts: Alert[], now_ms: number): FleetDevice[] {
  // Grouped once, so a fleet of thousands of boards and detectors is not a scan of every detector per board.
  const health = groupBy(openAlerts.filter((a) => a.kind === 'detector_health'), (a) => a.key);
  const byDevice = groupBy(detectors.filter((x) => x.device_id !== null), (x) => x.device_id!);
  return devices.map((d) => {
    const mine = byDevice.get(d.device_id) ?? [];
    const detector_health = mine.flatMap((x) => (health.get(x.detector_id) ?? []).map((a) => ({ detector_id: a.key, rule: a.rule, since_ms: a.opened_ms })));
    return { ...toFleetDevice(d, now_ms), detectors: mine.length, detector_health };
  });
}

/** Map.groupBy, which Node 20 lacks. */
function groupBy<T>(items: T[], key: (item: T) => string): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    const group = out.get(k);
    if (group) group.push(item);
    else out.set(k, [item]);
  }
  return out;
}

function toFleetDevice(d: DeviceRow, now_ms: number): Omit<FleetDevice, 'detectors' | 'detector_health'> {
  const hb = d.last_heartbeat;
  return {
    device_id: d.device_id,
    status: d.status,
    last_seen_ms: d.last_seen_ms,
    heartbeat_age_s: hb ? Math.max(0, (now_ms - hb.ts_ms) / 1000) : null,
    version: hb?.version ?? null,
    uptime_s: hb?.uptime_s ?? null,
    outbox_depth: hb?.outbox.depth ?? null,
    outbox_oldest_age_ms: hb?.outbox.oldest_age_ms ?? null,
    temperature_c: hb?.temperature_c ?? null,
    clock_synced: hb ? hb.clock.synced : null,
    inputs: (hb?.inputs ?? []).map((i) => ({ name: i.name, driver: i.driver, state: i.state, breaker: i.breaker, breaker_transitions: i.breaker_transitions ?? null, last_error: i.last_error })),
    dead_letters_total: hb?.dead_letters_total ?? null,
    config: hb?.config ? toFleetConfig(hb.config) : null,
    update: hb?.update ? { state: hb.update.state, version: hb.update.version, reason: hb.update.reason, ts_ms: hb.update.ts_ms } : null,
  };
}

/** Field by field: the heartbeat is kept as the board sent it, and the API shows only what it documents. */
function toFleetConfig(c: ConfigReport): FleetDevice['config'] {
  const { refused } = c;
  return {
    applied_hash: c.applied_hash,
    versions: { fleet: c.versions.fleet, site: c.versions.site, device: c.versions.device },
    refused: refused ? { scope: refused.scope, version: refused.version, reason: refused.reason, ts_ms: refused.ts_ms } : null,
  };
}
