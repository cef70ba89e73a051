/**
 * TMDD v3.03 message builders for the simulator (the only simulator file that imports fast-xml-parser).
 * Children are unqualified: only the root element is in the TMDD namespace (elementFormDefault="unqualified").
 */
import { XMLBuilder } from 'fast-xml-parser';
import type { Station } from '../../protocol/index.ts';
import { zoneOffsetMinutes } from '../../platform/time-zones.ts';
import type { LaneInterval } from '../traffic-model.ts';

export const TMDD_303_NS = 'http://www.tmdd.org/303/messages';

const builder = new XMLBuilder({ ignoreAttributes: false, format: true, suppressEmptyNode: true });

/** TMDD DateTimeZone: local date, time and ±HHMM offset in the given IANA zone. */
export function dateTimeZone(t_ms: number, time_zone: string): { date: string; time: string; offset: string } {
  const offsetMin = zoneOffsetMinutes(t_ms, time_zone);
  const local = new Date(t_ms + offsetMin * 60_000).toISOString(); // the local wall time, written as if UTC
  const abs = Math.abs(offsetMin);
  return {
    date: local.slice(0, 10).replaceAll('-', ''),
    time: local.slice(11, 19).replaceAll(':', ''),
    offset: `${offsetMin < 0 ? '-' : '+'}${String(Math.floor(abs / 60)).padStart(2, '0')}${String(abs % 60).padStart(2, '0')}`,
  };
}

export function detectorDataMsg(organization_id: string, lanes: LaneInterval[], time_zone: string): string {
  const details = lanes.map((l) => ({
    'station-id': l.station_id,
    'detector-id': l.detector_id,
    'detection-time-stamp': dateTimeZone(l.start_ms + l.duration_ms, time_zone),
    'vehicle-count': l.volume,
    'vehicle-occupancy': l.occupancy_pct,
    'start-time': dateTimeZone(l.start_ms, time_zone),
    'end-time': dateTimeZone(l.start_ms + l.duration_ms, time_zone),
    'detector-data-type': 'actual',
    'vehicle-speed': l.speed_sentinel ? 255 : l.speed_kmh,
    'detector-status': 'on',
  }));
  return (
    '<?xml version="1.0" encoding="UTF-8"?>\n' +
    builder.build({
      'tmdd:detectorDataMsg': {
        '@_xmlns:tmdd': TMDD_303_NS,
        'detector-data-item': {
          'organization-information': { 'organization-id': organization_id },
          'detector-data-list': { 'detector-data-detail': details },
        },
      },
    })
  );
}

export function detectorInventoryMsg(organization_id: string, stations: Station[], time_zone: string, now_ms: number): string {
  const items = stations.map((s) => ({
    'detector-station-inventory-header': header(organization_id, s.station_id, s.name, s, time_zone, now_ms),
    'detector-inventory-list': {
      detector: Array.from({ length: s.lanes }, (_, i) => ({
        'detector-inventory-header': header(organization_id, `${s.station_id}-l${i + 1}`, `${s.name}, lane ${i + 1}`, s, time_zone, now_ms),
        'detector-type': s.kind === 'freeway' ? 'microwave radar' : 'video Image',
        'detection-lanes': { lane: i + 1 },
      })),
    },
  }));
  return (
    '<?xml version="1.0" encoding="UTF-8"?>\n' +
    builder.build({ 'tmdd:detectorInventoryMsg': { '@_xmlns:tmdd': TMDD_303_NS, 'detector-inventory-item': items } })
  );
}

function header(organization_id: string, device_id: string, name: string, s: Station, time_zone: string, now_ms: number) {
  return {
    'organization-information': { 'organization-id': organization_id },
    'device-id': device_id,
    // lrms:GeoLocation: micro-degrees as integers.
    'device-location': { latitude: Math.round(s.lat * 1e6), longitude: Math.round(s.lon * 1e6) },
    'device-name': name,
    'link-direction': 'n',
    'last-update-time': dateTimeZone(now_ms, time_zone),
  };
}

/**
 * The Iowa DOT SIMS dialect (`trafficDetectorData`): one collection period per interval, one detector report
 * per station with its lanes. Times are local HHMMSS with the date and UTC offset in the period's stamp.
 */
export function iowaTrafficDetectorData(owner_id: string, lanes: LaneInterval[], time_zone: string): string {
  const periods = new Map<number, LaneInterval[]>();
  for (const l of lanes) periods.set(l.start_ms, [...(periods.get(l.start_ms) ?? []), l]);
  const collection = [...periods].map(([start_ms, members]) => {
    const start = dateTimeZone(start_ms, time_zone);
    const end = dateTimeZone(start_ms + members[0]!.duration_ms, time_zone);
    const reports = new Map<string, LaneInterval[]>();
    for (const l of members) reports.set(l.station_id, [...(reports.get(l.station_id) ?? []), l]);
    return {
      'detection-time-stamp': { 'local-date': start.date, 'local-time': start.time, 'utc-offset': start.offset },
      'start-time': start.time,
      'end-time': end.time,
      'detector-reports': {
        'detector-report': [...reports].map(([station_id, ls]) => ({
          'detector-id': station_id,
          status: 'operational',
          lanes: {
            lane: ls.map((l) => ({
              'lane-id': Number(l.detector_id.slice(l.detector_id.lastIndexOf('-l') + 2)),
              count: l.volume,
              volume: l.volume,
              occupancy: l.occupancy_pct,
              speed: l.speed_sentinel ? 255 : l.speed_kmh,
            })),
          },
        })),
      },
    };
  });
  return (
    '<?xml version="1.0" encoding="utf-8"?>\n' +
    builder.build({ trafficDetectorData: { 'owner-id': owner_id, 'network-id': owner_id, 'collection-periods': { 'collection-period': collection } } })
  );
}
