/**
 * Congestion level and HCM level of service from a window's summary: pure. The thresholds and their sources
 * are in docs/traffic-model.md; change them there and here together.
 */
import type { Congestion, LevelOfService, Station, Summary } from '../../protocol/index.ts';

/** Speed as a fraction of free-flow speed: the bounds *below* which each level starts. */
export const SPEED_RATIO = { light: 0.8, moderate: 0.67, severe: 0.5 } as const;
/** Occupancy percent at or above which each level starts. */
export const OCCUPANCY_PCT = { light: 15, moderate: 25, severe: 35 } as const;

/** Congestion levels from least to most. */
export const ORDER: Congestion[] = ['clear', 'light', 'moderate', 'severe'];

function bySpeed(speed_kmh: number, free_flow_kmh: number): Congestion {
  const r = speed_kmh / free_flow_kmh;
  if (r < SPEED_RATIO.severe) return 'severe';
  if (r < SPEED_RATIO.moderate) return 'moderate';
  if (r < SPEED_RATIO.light) return 'light';
  return 'clear';
}

function byOccupancy(occupancy_pct: number): Congestion {
  if (occupancy_pct >= OCCUPANCY_PCT.severe) return 'severe';
  if (occupancy_pct >= OCCUPANCY_PCT.moderate) return 'moderate';
  if (occupancy_pct >= OCCUPANCY_PCT.light) return 'light';
  return 'clear';
}

/**
 * The worse of the speed and occupancy levels. With no speed (no vehicles counted) occupancy decides alone; a
 * zero-volume window with low occupancy is `clear`; nothing observed is `unknown`.
 */
export function congestionOf(s: Pick<Summary, 'speed_kmh' | 'occupancy_pct' | 'volume'>, free_flow_kmh: number): Congestion {
  const levels: Congestion[] = [];
  if (s.speed_kmh !== null) levels.push(bySpeed(s.speed_kmh, free_flow_kmh));
  if (s.occupancy_pct !== null) levels.push(byOccupancy(s.occupancy_pct));
  if (levels.length === 0) return s.volume === 0 ? 'clear' : 'unknown';
  return levels.reduce((a, b) => (ORDER.indexOf(a) >= ORDER.indexOf(b) ? a : b));
}

const KMH_PER_MPH = 1.609344;
/** HCM 6 basic freeway segment LOS by density, pc/mi/ln: upper bounds of A–E. */
const FREEWAY_DENSITY = [11, 18, 26, 35, 45] as const;
/** HCM 6 Exhibit 18-1 urban street LOS by travel speed as % of base free-flow speed: lower bounds of A–E. */
const URBAN_SPEED_PCT = [80, 67, 50, 40, 30] as const;
const GRADES: LevelOfService[] = ['A', 'B', 'C', 'D', 'E', 'F'];

/**
 * Freeway: density = flow per lane (veh/h/ln) / space-mean speed (mi/h), with vehicles taken as passenger cars.
 * Intersection approach: travel speed against free-flow speed. Null when the inputs are missing.
 */
export function levelOfService(
  s: Pick<Summary, 'volume' | 'space_mean_speed_kmh' | 'speed_kmh'>,
  station: Pick<Station, 'kind' | 'lanes' | 'free_flow_kmh'>,
  window_ms: number,
): LevelOfService | null {
  if (station.kind === 'freeway') {
    if (s.volume === null || s.space_mean_speed_kmh === null) return s.volume === 0 ? 'A' : null;
    const flow_vphpl = (s.volume * (3_600_000 / window_ms)) / station.lanes;
    const density = flow_vphpl / (s.space_mean_speed_kmh / KMH_PER_MPH);
    const i = FREEWAY_DENSITY.findIndex((bound) => density <= bound);
    return GRADES[i === -1 ? 5 : i]!;
  }
  if (s.speed_kmh === null) return null;
  const pct = (100 * s.speed_kmh) / station.free_flow_kmh;
  const i = URBAN_SPEED_PCT.findIndex((bound) => pct > bound);
  return GRADES[i === -1 ? 5 : i]!;
}
