/**
 * A simulated Wavetronix SmartSensor 105 (or several, multidropped on one line): answers "XD" polls with the
 * latest complete interval of the traffic model, in the sensor's own units (mph, scans of 1024).
 */
import { alignDown, type Station } from '../../protocol/index.ts';
import type { Clock } from '../../platform/clock.ts';
import type { SerialLink } from '../../edge-agent/inputs/serial/link.ts';
import { encodeBinned, response } from '../../edge-agent/inputs/ss105-serial/protocol.ts';
import type { LaneSource } from '../faults.ts';
import { lineFaults, type LineFaults } from './line-faults.ts';

export interface Ss105DeviceOptions {
  link: SerialLink;
  model: LaneSource;
  clock: Clock;
  /** drop address → the station the sensor watches */
  drops: Map<number, Station>;
  interval_ms: number;
  /** Bytes of line noise to send before each answer (tests resynchronisation). */
  noise?: () => Buffer;
  /** Faults on this line (outage, noise, dropped bytes, clock skew). */
  faults?: LineFaults;
}

export function ss105Device(o: Ss105DeviceOptions): { answered(): number } {
  const faults = o.faults ?? lineFaults();
  let buf = '';
  let answered = 0;
  o.link.onData((bytes) => {
    buf += bytes.toString('latin1');
    for (let cr = buf.indexOf('\r'); cr >= 0; cr = buf.indexOf('\r')) {
      const req = buf.slice(0, cr);
      buf = buf.slice(cr + 1);
      const m = /Z0(\d{4})XD$/.exec(req);
      const station = m ? o.drops.get(Number(m[1])) : undefined;
      if (!m || !station || faults.silent()) continue; // not addressed to us: a real multidrop sensor stays silent
      const start = alignDown(o.clock.now(), o.interval_ms) - o.interval_ms;
      if (!o.model.covers(start + o.interval_ms, 'lanes')) continue; // no interval to report yet
      const lanes = Array.from({ length: station.lanes }, (_, i) => {
        const l = o.model.laneInterval(station, i + 1, start, o.interval_ms);
        return { lane: i + 1, count: l.volume, speed_mph: Math.round(l.speed_kmh / 1.609344), occupancy_scans: Math.round(l.occupancy_pct * 10.24), shares_1024: [1024, 0, 0] as [number, number, number] };
      });
      const payload = encodeBinned({ end_ms: start + o.interval_ms + faults.skew_ms(), lanes });
      answered++;
      void o.link.write(faults.garble(Buffer.concat([o.noise?.() ?? Buffer.alloc(0), response(Number(m[1]), 'XD', payload)])));
    }
  });
  return { answered: () => answered };
}
