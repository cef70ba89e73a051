/** The line format `wacoflow tmdd parse` prints and the golden cases hold: one normalised sample per line. */
import type { Sample } from '../../../protocol/index.ts';

export function sampleLine(s: Sample): string {
  return JSON.stringify({
    detector_id: s.detector_id,
    station_id: s.station_id,
    start_ms: s.start_ms,
    end_ms: s.start_ms + s.duration_ms,
    volume: s.volume,
    occupancy_pct: s.occupancy_pct,
    speed_kmh: s.speed_kmh,
    status: s.status,
  });
}
