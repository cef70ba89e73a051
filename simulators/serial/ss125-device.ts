/**
 * A simulated Wavetronix SmartSensor HD: pushes each completed interval (one packet per lane, then one for the
 * approach), or answers interval polls, with the traffic model's values in mph.
 */
import { alignDown, type Station } from '../../protocol/index.ts';
import type { Clock } from '../../platform/clock.ts';
import type { SerialLink } from '../../edge-agent/inputs/serial/link.ts';
import { encodeFrame, encodeInterval, Framer, MSG_INTERVAL } from '../../edge-agent/inputs/ss125-serial/protocol.ts';
import type { LaneSource } from '../faults.ts';
import { lineFaults, type LineFaults } from './line-faults.ts';

export interface Ss125DeviceOptions {
  link: SerialLink;
  model: LaneSource;
  clock: Clock;
  drops: Map<number, Station>;
  interval_ms: number;
  /** Faults on this line (outage, noise, dropped bytes, clock skew). */
  faults?: LineFaults;
}

/** Frames for every lane and the approach of one sensor's interval ending at `end_ms`. */
export function intervalFrames(o: Ss125DeviceOptions, drop: number, station: Station, end_ms: number, seq: number): Buffer[] {
  const lanes = Array.from({ length: station.lanes }, (_, i) => o.model.laneInterval(station, i + 1, end_ms - o.interval_ms, o.interval_ms));
  const packet = (i: number, volume: number, speed_kmh: number | null, occupancy: number) =>
    encodeFrame({
      dst_id: 0, src_id: drop, seq,
      body: encodeInterval({
        packet: i, interval_number: Math.floor(end_ms / o.interval_ms) & 0xffffff, timestamp_ms: end_ms + (o.faults?.skew_ms() ?? 0),
        speed: speed_kmh === null ? null : speed_kmh / 1.609344, volume, occupancy_pct: occupancy, lanes: station.lanes, approaches: 1,
      }),
    });
  const total = lanes.reduce((a, l) => a + l.volume, 0);
  return [
    ...lanes.map((l, i) => packet(i, l.volume, l.volume > 0 ? l.speed_kmh : null, l.occupancy_pct)),
    packet(station.lanes, total, null, lanes.reduce((a, l) => a + l.occupancy_pct, 0) / lanes.length),
  ];
}

export function ss125Device(o: Ss125DeviceOptions): { push(end_ms?: number): Promise<void> } {
  const faults = o.faults ?? lineFaults();
  const framer = new Framer();
  let seq = 0;
  o.link.onData((bytes) => {
    for (const f of framer.push(bytes)) {
      const station = o.drops.get(f.dst_id);
      if (!station || f.body[0] !== MSG_INTERVAL || faults.silent()) continue;
      const end = alignDown(o.clock.now(), o.interval_ms);
      if (!o.model.covers(end, 'lanes')) continue; // no interval to report yet
      void o.link.write(faults.garble(Buffer.concat(intervalFrames(o, f.dst_id, station, end, (f.seq + 1) & 0xff)))); // answers increment the poll's number
    }
  });
  return {
    async push(end_ms = alignDown(o.clock.now(), o.interval_ms)) {
      if (faults.silent() || !o.model.covers(end_ms, 'lanes')) return;
      for (const [drop, station] of o.drops) await o.link.write(faults.garble(Buffer.concat(intervalFrames(o, drop, station, end_ms, seq++ & 0xff))));
    },
  };
}
