/**
 * The simulated Waco network: I-35 detector stations between South and North Loop 340, and the Valley Mills
 * Drive signalised corridor. Positions are the real interchanges and intersections, placed by hand from public
 * maps (accurate to a few hundred metres); replace them with the city's surveyed inventory in production.
 * Free-flow speeds are the posted limits: 70 mph (113 km/h) on I-35, 40 mph (64 km/h) on Valley Mills Drive.
 */
import type { Station } from '../protocol/index.ts';

export interface Feed {
  /** The feed id in the simulator's URL: /tmdd/<feed_id>/detectorDataMsg */
  feed_id: string;
  organization_id: string;
  station_ids: string[];
}

export const WACO_STATIONS: Station[] = [
  { station_id: 'i35-nb-lp340-south', name: 'I-35 NB at S Loop 340', kind: 'freeway', corridor_id: 'i35-nb', lat: 31.4887, lon: -97.1792, lanes: 3, free_flow_kmh: 113 },
  { station_id: 'i35-nb-valley-mills', name: 'I-35 NB at Valley Mills Dr', kind: 'freeway', corridor_id: 'i35-nb', lat: 31.5158, lon: -97.1590, lanes: 3, free_flow_kmh: 113 },
  { station_id: 'i35-nb-12th', name: 'I-35 NB at 12th St', kind: 'freeway', corridor_id: 'i35-nb', lat: 31.5401, lon: -97.1404, lanes: 3, free_flow_kmh: 113 },
  { station_id: 'i35-nb-4th-5th', name: 'I-35 NB at 4th/5th St (Baylor)', kind: 'freeway', corridor_id: 'i35-nb', lat: 31.5543, lon: -97.1277, lanes: 4, free_flow_kmh: 113 },
  { station_id: 'i35-nb-brazos', name: 'I-35 NB at Brazos River bridge', kind: 'freeway', corridor_id: 'i35-nb', lat: 31.5617, lon: -97.1246, lanes: 4, free_flow_kmh: 113 },
  { station_id: 'i35-nb-lp340-north', name: 'I-35 NB at N Loop 340 (Bellmead)', kind: 'freeway', corridor_id: 'i35-nb', lat: 31.6043, lon: -97.0937, lanes: 3, free_flow_kmh: 113 },
  { station_id: 'valley-mills-nb-franklin', name: 'Valley Mills Dr NB at Franklin Ave', kind: 'intersection', corridor_id: 'valley-mills-nb', lat: 31.5313, lon: -97.1788, lanes: 2, free_flow_kmh: 64 },
  { station_id: 'valley-mills-nb-waco-dr', name: 'Valley Mills Dr NB at W Waco Dr', kind: 'intersection', corridor_id: 'valley-mills-nb', lat: 31.5387, lon: -97.1843, lanes: 2, free_flow_kmh: 64 },
  { station_id: 'valley-mills-nb-bosque', name: 'Valley Mills Dr NB at Bosque Blvd', kind: 'intersection', corridor_id: 'valley-mills-nb', lat: 31.5468, lon: -97.1801, lanes: 2, free_flow_kmh: 64 },
];

export const WACO_FEEDS: Feed[] = [
  { feed_id: 'txdot-i35', organization_id: 'TxDOT-WAC', station_ids: WACO_STATIONS.filter((s) => s.kind === 'freeway').map((s) => s.station_id) },
  { feed_id: 'waco-signals', organization_id: 'City-of-Waco', station_ids: WACO_STATIONS.filter((s) => s.kind === 'intersection').map((s) => s.station_id) },
];

/** One detector per lane, numbered from the median (lane 1) outwards, as TMDD feeds usually do. */
export function detectorIds(station: Station): string[] {
  return Array.from({ length: station.lanes }, (_, i) => `${station.station_id}-l${i + 1}`);
}
