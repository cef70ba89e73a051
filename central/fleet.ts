/**
 * The fleet as operators see it: one row per device from its status and its latest heartbeat, with the health
 * of the detectors it reads (the open detector-health alerts on detectors whose latest data it sent).
 */
import type { Alert } from '../protocol/index.ts';
import type { FleetDevice } from './http/api.ts';
import type { DetectorRow, DeviceRow } from './store/store.ts';

export function toFleetDevices(devices: DeviceRow[], detectors: DetectorRow[], openAlerts: Alert[], now_ms: number): FleetDevice[] {
  const health = new Map<string, FleetDevice['detector_health']>();
  for (const a of openAlerts) {
    if (a.kind !== 'detector_health') continue;
    health.set(a.key, [...(health.get(a.key) ?? []), { detector_id: a.key, rule: a.rule, since_ms: a.opened_ms }]);
  }
  return devices.map((d) => {
    const mine = detectors.filter((x) => x.device_id === d.device_id);
    return { ...toFleetDevice(d, now_ms), detectors: mine.length, detector_health: mine.flatMap((x) => health.get(x.detector_id) ?? []) };
  });
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
    inputs: (hb?.inputs ?? []).map((i) => ({ name: i.name, driver: i.driver, state: i.state, breaker: i.breaker, last_error: i.last_error })),
    dead_letters_total: hb?.dead_letters_total ?? null,
  };
}
