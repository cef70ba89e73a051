/**
 * The core of the Waco network: six I-35 northbound stations between South and North Loop 340 and three on
 * Valley Mills Drive, served by two TMDD feeds. Tests and light runs use it where the whole city would only
 * cost time; every station here is also in the full network (network.yaml), with the same id and position.
 */
import type { Station } from '../../protocol/index.ts';
import { asStation, wacoNetwork } from './network.ts';

export interface Feed {
  /** The feed id in the simulator's URL: /tmdd/<feed_id>/detectorDataMsg */
  feed_id: string;
  organization_id: string;
  station_ids: string[];
  /** The document format served (default TMDD 3.03). */
  dialect?: 'tmdd-3.03' | 'iowa-sims';
}

const CORE_IDS = [
  'i35-nb-lp340-south', 'i35-nb-valley-mills', 'i35-nb-12th', 'i35-nb-4th-5th', 'i35-nb-brazos', 'i35-nb-lp340-north',
  'valley-mills-nb-franklin', 'valley-mills-nb-waco-dr', 'valley-mills-nb-bosque',
];

export const CORE_STATIONS: Station[] = CORE_IDS.map((id) => {
  const s = wacoNetwork().stations.find((x) => x.station_id === id);
  if (!s) throw new Error(`simulators/waco/network.yaml no longer has the core station ${id}`);
  return asStation(s);
});

export const CORE_FEEDS: Feed[] = [
  { feed_id: 'txdot-i35', organization_id: 'TxDOT-WAC', station_ids: CORE_STATIONS.filter((s) => s.kind === 'freeway').map((s) => s.station_id) },
  { feed_id: 'waco-signals', organization_id: 'City-of-Waco', station_ids: CORE_STATIONS.filter((s) => s.kind === 'intersection').map((s) => s.station_id) },
];

/** One detector per lane, numbered from the median (lane 1) outwards, as TMDD feeds usually do. */
export function detectorIds(station: Station): string[] {
  return Array.from({ length: station.lanes }, (_, i) => `${station.station_id}-l${i + 1}`);
}
