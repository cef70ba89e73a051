/**
 * TMDD `detectorInventoryMsg` (3.0 `detector-list`, 3.03/3.1 `detector-inventory-list`) and VDOT's OpenRoads
 * `stationList` wrapper → stations with their lane detectors and WGS-84 positions. Pure, no I/O.
 *
 * `lrms:GeoLocation` holds integer micro-degrees (VDOT 38020767 = 38.020767°); some agencies write decimal
 * degrees instead (RWS writes 0.0), so a value with a decimal point is read as degrees. 0/0 means unknown.
 */
import { ERR, WacoflowError } from '../../../platform/errors.ts';
import { safeId } from './values.ts';
import { list, node, readXml, rootName, text, type XmlNode } from './xml.ts';

export interface InventoryDetector {
  detector_id: string;
  name: string;
  lanes: number[];
}

export interface InventoryStation {
  station_id: string;
  name: string;
  lat: number | null;
  lon: number | null;
  detectors: InventoryDetector[];
}

function degrees(v: string, limit: number): number | null {
  if (v === '') return null;
  const n = Number(v);
  if (!Number.isFinite(n)) return null;
  const deg = v.includes('.') ? n : n / 1e6;
  return Math.abs(deg) <= limit ? deg : null;
}

function position(header: XmlNode): { lat: number | null; lon: number | null } {
  const loc = node(header['device-location']);
  const lat = degrees(text(loc.latitude), 90);
  const lon = degrees(text(loc.longitude), 180);
  return lat === 0 && lon === 0 ? { lat: null, lon: null } : { lat, lon };
}

function stationOf(item: XmlNode): InventoryStation | null {
  const header = node(item['detector-station-inventory-header']);
  const detectorsNode = node(item['detector-inventory-list'] ?? item['detector-list']);
  const detectors = list(detectorsNode.detector).map((d): InventoryDetector => {
    const h = node(d['detector-inventory-header']);
    const lanesNode = node(d['detection-lanes'] ?? d.lanes);
    const lanes = list<unknown>(lanesNode.lane).map((l) => Number(text(l))).filter((n) => Number.isInteger(n) && n > 0);
    return { detector_id: safeId(text(h['device-id'])), name: text(h['device-name']), lanes };
  });
  const id = text(header['device-id']);
  if (!id) return null;
  return { station_id: safeId(id), name: text(header['device-name']) || id, ...position(header), detectors: detectors.filter((d) => d.detector_id) };
}

export function parseInventory(xml: string): InventoryStation[] {
  const doc = readXml(xml);
  const root = rootName(doc);
  const body = node(doc[root]);
  if (root === 'detectorInventoryMsg') {
    return list(body['detector-inventory-item']).map(stationOf).filter((s): s is InventoryStation => s !== null);
  }
  if (root === 'stationList') {
    return list(body.station).map((st) => stationOf(node(st.inventory))).filter((s): s is InventoryStation => s !== null);
  }
  throw new WacoflowError(ERR.FEED_PARSE, `expected a detector inventory (detectorInventoryMsg or stationList), found ${root || 'nothing'}`);
}
