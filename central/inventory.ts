/**
 * The inventory file: stations with their detectors. Every station needs an id, name, kind, corridor (or null),
 * coordinates, lanes and free-flow speed; `detectors` lists its detector ids (default: one per lane,
 * `<station_id>-l<lane>`, as the agents' drivers name them). A corridor's stations are listed in travel order,
 * the order traffic meets them: the analytics take each station's next one as its downstream neighbour
 * (onset warnings from a queue ahead, incident detection between the two).
 */
import { z } from 'zod';
import { StationSchema, type Station } from '../protocol/index.ts';
import { loadConfigFile } from '../platform/config-file.ts';
import { ERR, WacoflowError } from '../platform/errors.ts';
import type { DetectorRef } from './store/rows.ts';

const InventorySchema = z
  .object({
    stations: z.array(StationSchema.extend({ detectors: z.array(StationSchema.shape.station_id).min(1).optional() }).strict()).min(1, 'list at least one station'),
  })
  .strict();

export interface Inventory {
  stations: Station[];
  detectors: DetectorRef[];
}

export function loadInventory(file: string): Inventory {
  const { stations } = loadConfigFile(file, InventorySchema);
  const seen = new Map<string, string>();
  const problems: string[] = [];
  const detectors: DetectorRef[] = [];
  for (const [i, { detectors: ids, ...station }] of stations.entries()) {
    if (seen.has(station.station_id)) problems.push(`${file}: stations.${i}.station_id: ${station.station_id} is listed twice`);
    seen.set(station.station_id, station.station_id);
    for (const detector_id of ids ?? Array.from({ length: station.lanes }, (_, l) => `${station.station_id}-l${l + 1}`)) {
      detectors.push({ detector_id, station_id: station.station_id });
    }
  }
  const owners = new Map<string, string>();
  for (const d of detectors) {
    const other = owners.get(d.detector_id);
    if (other && other !== d.station_id) problems.push(`${file}: detector ${d.detector_id} is listed under ${other} and ${d.station_id}`);
    owners.set(d.detector_id, d.station_id);
  }
  if (problems.length > 0) throw new WacoflowError(ERR.CONFIG, problems.join('\n'));
  return { stations: stations.map(({ detectors: _, ...s }) => s), detectors };
}
