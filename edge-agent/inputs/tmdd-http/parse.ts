/**
 * Detector feed documents → samples: pure, no I/O. The root element picks the format:
 *
 * | root                  | format                                              | lanes                                   |
 * |-----------------------|-----------------------------------------------------|-----------------------------------------|
 * | `detectorDataMsg`     | TMDD 3.0 (`detector-list`), 3.03 / 3.1 (`detector-data-list`), either namespace | one `detector-data-detail` each |
 * | `trafficDetectorData` | Iowa DOT SIMS (TMDD-2-like, 20 s periods)           | `detector-report/lanes/lane`            |
 * | `DetectorData`        | NDOT FAST Las Vegas (TMDD-2-like, 1 min periods)    | `detector-report/lane-data/lane-data-item` |
 *
 * Matching is on local names; unknown children and `xsi:type` extensions are ignored. Units and the time zone
 * come from the feed's configuration and are applied here, once (see values.ts and time.ts).
 */
import type { Sample } from '../../../protocol/index.ts';
import { ERR, WacoflowError } from '../../../platform/errors.ts';
import { parseDateTimeZone, parseOffset, type DateTimeZone } from './time.ts';
import { toSample, type RawLane, type ValueOptions } from './values.ts';
import { list, node, readXml, rootName, text, type XmlNode } from './xml.ts';

export interface TmddParseOptions extends ValueOptions {
  time_zone: string;
  /** The feed's collection interval, used when a record carries only its detection time. */
  sample_interval_ms: number;
}

export interface ParseResult {
  samples: Sample[];
  /** Values or whole records dropped, by reason. */
  dropped: Record<string, number>;
}

/** Fills in the optional value options, so callers may pass only what they configure. */
export function parseOptions(o: Partial<TmddParseOptions> & Pick<TmddParseOptions, 'time_zone'>): TmddParseOptions {
  return { speed_unit: 'kmh', missing_count: 'no_data', sample_interval_ms: 20_000, ...o };
}

export function parseDetectorData(xml: string, options: Partial<TmddParseOptions> & Pick<TmddParseOptions, 'time_zone'>): ParseResult {
  const o = parseOptions(options);
  const doc = readXml(xml);
  const root = rootName(doc);
  const dropped: Record<string, number> = {};
  const drop = (reason: string): void => {
    dropped[reason] = (dropped[reason] ?? 0) + 1;
  };
  const samples: Sample[] = [];
  const push = (lane: RawLane | null): void => {
    if (!lane) return;
    const s = toSample(lane, o, drop);
    if (s) samples.push(s);
  };
  const body = node(doc[root]);
  switch (root) {
    case 'detectorDataMsg':
      for (const d of tmdd3Details(body)) push(tmdd3Lane(d, o, drop));
      break;
    case 'trafficDetectorData':
      for (const lane of iowaLanes(body, o, drop)) push(lane);
      break;
    case 'DetectorData':
      for (const lane of ndotLanes(body, o, drop)) push(lane);
      break;
    default:
      throw new WacoflowError(
        ERR.FEED_PARSE,
        `expected a detector data document (detectorDataMsg, trafficDetectorData or DetectorData), found ${root || 'nothing'}`,
      );
  }
  return { samples, dropped };
}

function tmdd3Details(body: XmlNode): XmlNode[] {
  return list(body['detector-data-item']).flatMap((item) => {
    const l = node(item['detector-data-list'] ?? item['detector-list']);
    return list<XmlNode>(l['detector-data-detail']);
  });
}

function tmdd3Lane(d: XmlNode, o: TmddParseOptions, drop: (r: string) => void): RawLane | null {
  const detector_id = text(d['detector-id']);
  if (!detector_id) {
    drop('missing_detector_id');
    return null;
  }
  let start: number | string;
  let end: number | string;
  if (d['start-time']) {
    start = parseDateTimeZone(node(d['start-time']) as DateTimeZone, o.time_zone);
    end = d['end-time'] ? parseDateTimeZone(node(d['end-time']) as DateTimeZone, o.time_zone) : typeof start === 'number' ? start + o.sample_interval_ms : start;
  } else {
    end = parseDateTimeZone(node(d['detection-time-stamp']) as DateTimeZone, o.time_zone);
    start = typeof end === 'number' ? end - o.sample_interval_ms : end;
  }
  if (typeof start !== 'number' || typeof end !== 'number' || end <= start) {
    drop('bad_time');
    return null;
  }
  return {
    detector_id,
    station_id: text(d['station-id']) || detector_id,
    start_ms: start,
    end_ms: end,
    count: text(d['vehicle-count']),
    occupancy: text(d['vehicle-occupancy']),
    speed: text(d['vehicle-speed']),
    // 3.1 says detector-status; one agency ("MDOT") writes device-status inside the detail.
    status: text(d['detector-status']) || text(d['device-status']),
  };
}

/** Bare HHMMSS on a given local date and offset (Iowa's start-time / end-time). */
function iowaTime(date: string, time: string, offset: string, tz: string): number | string {
  return parseDateTimeZone({ date, time, offset: offset || undefined }, tz);
}

function iowaLanes(body: XmlNode, o: TmddParseOptions, drop: (r: string) => void): RawLane[] {
  const out: RawLane[] = [];
  for (const period of list(node(body['collection-periods'])['collection-period'])) {
    const stamp = node(period['detection-time-stamp']);
    const date = text(stamp['local-date']);
    const offset = text(stamp['utc-offset']);
    if (offset && parseOffset(offset) === null) {
      drop('bad_time');
      continue;
    }
    const start = iowaTime(date, text(period['start-time']) || text(stamp['local-time']), offset, o.time_zone);
    let end = text(period['end-time']) ? iowaTime(date, text(period['end-time']), offset, o.time_zone) : typeof start === 'number' ? start + o.sample_interval_ms : start;
    if (typeof start === 'number' && typeof end === 'number' && end <= start) end += 86_400_000; // the period crossed midnight
    if (typeof start !== 'number' || typeof end !== 'number') {
      drop('bad_time');
      continue;
    }
    for (const report of list(node(period['detector-reports'])['detector-report'])) {
      const station = text(report['detector-id']);
      const lanes = list(node(report.lanes).lane);
      if (!station) {
        drop('missing_detector_id');
        continue;
      }
      if (lanes.length === 0) {
        drop('report_without_lanes'); // failed or off stations report no lanes
        continue;
      }
      for (const lane of lanes) {
        out.push({
          detector_id: `${station}:l${text(lane['lane-id']) || '?'}`,
          station_id: station,
          start_ms: start,
          end_ms: end,
          count: text(lane.count),
          occupancy: text(lane.occupancy),
          speed: text(lane.speed),
          status: text(report.status),
        });
      }
    }
  }
  return out;
}

function ndotLanes(body: XmlNode, o: TmddParseOptions, drop: (r: string) => void): RawLane[] {
  const out: RawLane[] = [];
  for (const period of list(body['collection-period']).flatMap((p) => list<XmlNode>(p['collection-period-item']))) {
    const end = parseDateTimeZone(node(period['detection-time-stamp']) as DateTimeZone, o.time_zone);
    if (typeof end !== 'number') {
      drop('bad_time');
      continue;
    }
    for (const report of list(node(period['detector-reports'])['detector-report'])) {
      const station = text(report['detector-id']);
      if (!station) {
        drop('missing_detector_id');
        continue;
      }
      for (const lane of list(node(report['lane-data'])['lane-data-item'])) {
        out.push({
          detector_id: `${station}:l${text(lane['detector-lane-number']) || '?'}`,
          station_id: station,
          start_ms: end - o.sample_interval_ms,
          end_ms: end,
          count: text(lane['lane-vehicle-count']),
          occupancy: text(lane.occupancy),
          speed: text(lane['lane-vehicle-speed']),
          status: text(lane['lane-status']) || text(report['detector-status']),
        });
      }
    }
  }
  return out;
}
