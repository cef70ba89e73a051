import { z } from 'zod';
import { Id } from './common.ts';

/**
 * A station in the inventory: a freeway detector station or a signalised-intersection approach. Detector windows
 * roll up to stations, stations to corridors. Coordinates are WGS-84 decimal degrees.
 */
export const StationSchema = z.object({
  station_id: Id,
  name: z.string().min(1).max(200),
  kind: z.enum(['freeway', 'intersection']),
  corridor_id: Id.nullable(),
  lat: z.number().min(-90).max(90),
  lon: z.number().min(-180).max(180),
  lanes: z.number().int().min(1).max(16),
  /** Posted or design free-flow speed, km/h: the fallback until one is learned from the station's own data. */
  free_flow_kmh: z.number().min(10).max(200),
});
export type Station = z.infer<typeof StationSchema>;
