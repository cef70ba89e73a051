/** The fleet as operators see it: one row per device from its status and its latest heartbeat. */
import type { FleetDevice } from './http/api.ts';
import type { DeviceRow } from './store/store.ts';

export function toFleetDevice(d: DeviceRow, now_ms: number): FleetDevice {
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
