/**
 * Whether the board's clock is synchronised. A Pi has no battery-backed clock: until NTP has run, its time is
 * whatever the last shutdown left. systemd-timesyncd touches /run/systemd/timesync/synchronized once it has
 * synchronised (systemd ≥ 239); chrony users can point `clock_sync_file` at a file their own hook maintains.
 */
import { existsSync } from 'node:fs';
import type { ClockState } from '../../protocol/index.ts';

export const TIMESYNCD_FLAG = '/run/systemd/timesync/synchronized';

export function fileClockSync(flag_path: string = TIMESYNCD_FLAG): () => ClockState {
  let last = { checked_ms: 0, synced: false };
  return () => {
    const now = Date.now();
    if (now - last.checked_ms > 10_000) last = { checked_ms: now, synced: existsSync(flag_path) };
    // The offset NTP corrected is not exposed to unprivileged processes; 0 means "not measured".
    return { synced: last.synced, offset_ms: 0 };
  };
}
