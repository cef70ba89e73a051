/**
 * The traffic model on the whole Waco network: shaped like the real detector it came from, consistent with the
 * fundamental diagram, queues that spill back, weather, game days, cameras that agree with the loops, and
 * byte-identical output for one seed.
 */
import { describe, expect, it } from 'vitest';
import { countsDocument } from './camera/server.ts';
import { detectorDataMsg, iowaTrafficDetectorData } from './tmdd-feed/xml.ts';
import { TrafficModel, type Incident } from './traffic-model.ts';
import { demandProfile } from './waco/demand-profile.ts';
import { wacoNetwork } from './waco/network.ts';

const net = wacoNetwork();
const station = (id: string) => net.stations.find((s) => s.station_id === id)!;
const MONDAY = Date.UTC(2026, 10, 16, 6, 0, 0); // 2026-11-16 00:00 in Waco (CST, UTC−6)
const HOUR = 3_600_000;
const MIN = 60_000;

function pearson(a: number[], b: number[]): number {
  const mean = (x: number[]) => x.reduce((s, v) => s + v, 0) / x.length;
  const [ma, mb] = [mean(a), mean(b)];
  let [sab, saa, sbb] = [0, 0, 0];
  for (let i = 0; i < a.length; i++) {
    sab += (a[i]! - ma) * (b[i]! - mb);
    saa += (a[i]! - ma) ** 2;
    sbb += (b[i]! - mb) ** 2;
  }
  return sab / Math.sqrt(saa * sbb);
}

/** A station's 5-minute window as central would see it: volume, mean occupancy, volume-weighted speed. */
function window(model: TrafficModel, id: string, start: number) {
  const s = station(id);
  let [volume, occ, speedSum, n] = [0, 0, 0, 0];
  for (let t = start; t < start + 5 * MIN; t += 20_000) {
    for (let lane = 1; lane <= s.lanes; lane++) {
      const l = model.laneInterval(s, lane, t, 20_000);
      volume += l.volume;
      occ += l.occupancy_pct;
      speedSum += l.speed_kmh * l.volume;
      n++;
    }
  }
  return { volume, occupancy_pct: occ / n, speed_kmh: volume > 0 ? speedSum / volume : null };
}

describe('the traffic model on the Waco network', () => {
  it("follows the real weekly profile it was derived from (Pearson r over the week's 168 hours)", () => {
    const model = new TrafficModel('profile', { network: net });
    const s = station('i35-nb-12th');
    const hourly: number[] = [];
    for (let h = 0; h < 168; h++) {
      let v = 0;
      for (let t = MONDAY + h * HOUR; t < MONDAY + (h + 1) * HOUR; t += MIN) for (let lane = 1; lane <= s.lanes; lane++) v += model.laneInterval(s, lane, t, MIN).volume;
      hourly.push(v);
    }
    const p = demandProfile().by_weekday_hour;
    const real = Array.from({ length: 168 }, (_, h) => p[(1 + Math.floor(h / 24)) % 7]![h % 24]!); // the week starts on a Monday
    const r = pearson(hourly, real);
    expect(r).toBeGreaterThan(0.98); // measured 0.999 (docs/simulator.md)
  });

  it('keeps volume, occupancy and speed on the fundamental diagram', () => {
    const model = new TrafficModel('diagram', { network: net, incidents: [{ station_id: 'i35-nb-4th-5th', start_ms: MONDAY + 17 * HOUR, duration_ms: 30 * MIN, capacity_factor: 0.2 }] });
    const s = station('i35-nb-4th-5th');
    const errors: number[] = [];
    for (let t = MONDAY + 6 * HOUR; t < MONDAY + 20 * HOUR; t += MIN) {
      const l = model.laneInterval(s, 1, t, MIN);
      if (l.volume < 5 || l.speed_sentinel) continue;
      // Occupancy gives density (vehicles per km: occupancy share ÷ effective vehicle length); flow = density × speed.
      const density = l.occupancy_pct / 100 / 0.0073;
      const flow = l.volume * 60;
      errors.push(Math.abs(flow / density - l.speed_kmh) / l.speed_kmh);
    }
    errors.sort((a, b) => a - b);
    expect(errors.length).toBeGreaterThan(700);
    expect(errors[Math.floor(errors.length / 2)]).toBeLessThan(0.15); // the median interval agrees within 15 %
  });

  it('spills a queue back upstream along the corridor, and clears it after the incident', () => {
    const start = MONDAY + 17 * HOUR; // the evening peak
    const incident: Incident = { station_id: 'i35-nb-4th-5th', start_ms: start, duration_ms: 30 * MIN, capacity_factor: 0.1 };
    const model = new TrafficModel('spill', { network: net, incidents: [incident] });
    const plain = new TrafficModel('spill', { network: net });
    const slow = (id: string, t: number) => window(model, id, t).speed_kmh! < 0.5 * station(id).free_flow_kmh;
    /** Minutes from the incident's start until a station's first lane is on the queued branch (null: not within the hour). */
    const reached = (id: string): number | null => {
      for (let m = 0; m < 60; m++) {
        const l = model.laneInterval(station(id), 1, start + m * MIN, MIN);
        if (l.volume > 0 && l.speed_kmh < 0.5 * station(id).free_flow_kmh) return m;
      }
      return null;
    };
    // At the incident: at once. At 12th St, about 2 km upstream: minutes later, as the queue's tail grows back.
    // At S Loop 340, 9 km upstream: later still, or not within the hour.
    expect(reached('i35-nb-4th-5th')).toBe(0);
    const twelfth = reached('i35-nb-12th');
    expect(twelfth).toBeGreaterThan(0);
    expect(twelfth).toBeLessThan(20);
    expect(reached('i35-nb-lp340-south') ?? 60).toBeGreaterThan(twelfth! + 5);
    // Downstream and in the other direction: no queue.
    expect(slow('i35-nb-brazos', start + 20 * MIN)).toBe(false);
    expect(slow('i35-sb-12th', start + 20 * MIN)).toBe(false);
    // Long after it ends, traffic is as it would have been.
    const later = start + 3 * HOUR;
    expect(window(model, 'i35-nb-12th', later)).toEqual(window(plain, 'i35-nb-12th', later));
  });

  it('slows traffic in the rain, and on game day surges around McLane Stadium and queues at its gates', () => {
    const t = MONDAY + 5 * 24 * HOUR + 12 * HOUR; // a Saturday noon
    const dry = new TrafficModel('wx', { network: net });
    const wet = new TrafficModel('wx', { network: net, weather: [{ start_ms: t - HOUR, duration_ms: 2 * HOUR, speed_factor: 0.85 }] });
    expect(window(wet, 'i35-nb-12th', t).speed_kmh!).toBeLessThan(0.9 * window(dry, 'i35-nb-12th', t).speed_kmh!);

    const kickoff = t + 2 * HOUR;
    const game = new TrafficModel('wx', { network: net, games: [{ kickoff_ms: kickoff, duration_ms: 3.5 * HOUR }] });
    const near = station('mlk-nb-stadium');
    const far = station('hwy6-nb-lake-shore');
    const ratio = (s: typeof near) => game.demandPerLane(s, kickoff - 45 * MIN) / dry.demandPerLane(s, kickoff - 45 * MIN);
    expect(ratio(near)).toBeGreaterThan(1.8);
    expect(ratio(far)).toBeLessThan(1.1);
    const after = kickoff + 3.5 * HOUR + 20 * MIN;
    expect(game.demandPerLane(near, after)).toBeGreaterThan(game.demandPerLane(near, kickoff - 45 * MIN));

    // The stadium gates pass less from 90 minutes before kickoff: a queue stands at the gate and spills back to
    // Elm Ave, upstream on MLK southbound; before the gates close, and on a day without a game, traffic flows.
    const speed = (m: TrafficModel, id: string, at: number) => window(m, id, at).speed_kmh!;
    expect(speed(game, 'mlk-sb-stadium', kickoff - 100 * MIN)).toBeGreaterThan(35);
    expect(speed(game, 'mlk-sb-stadium', kickoff - 80 * MIN)).toBeLessThan(15);
    expect(speed(game, 'mlk-sb-elm', kickoff - 30 * MIN)).toBeLessThan(15);
    expect(speed(dry, 'mlk-sb-elm', kickoff - 30 * MIN)).toBeGreaterThan(35);
  });

  it("counts each linked camera approach's vehicles as its road station does, split into movements", () => {
    const model = new TrafficModel('cam', { network: net });
    const x = net.intersections.find((i) => i.intersection_id === 'vm-franklin')!;
    const approach = x.approaches.find((a) => a.approach === 'S')!;
    const approachStation = net.approachStations.find((s) => s.station_id === approach.station_id)!;
    const linked = station(approach.linked_station_id!);
    for (let t = MONDAY + 8 * HOUR; t < MONDAY + 9 * HOUR; t += MIN) {
      const r = model.approachInterval(approach, approachStation, t, MIN);
      let loops = 0;
      for (let s = t; s < t + MIN; s += 20_000) for (let lane = 1; lane <= linked.lanes; lane++) loops += model.laneInterval(linked, lane, s, 20_000).volume;
      expect(r.movements.reduce((n, m) => n + m.volume, 0)).toBe(loops);
    }
  });

  it('gives byte-identical feeds and camera counts for one seed, and different ones for another', () => {
    const t = MONDAY + 8 * HOUR;
    const docs = (seed: string) => {
      const model = new TrafficModel(seed, { network: net, incidents: [{ station_id: 'i35-nb-4th-5th', start_ms: t - HOUR, duration_ms: HOUR, capacity_factor: 0.1 }] });
      const lanes = net.stations.flatMap((s) => Array.from({ length: s.lanes }, (_, i) => model.laneInterval(s, i + 1, t, 20_000)));
      const cameras = net.intersections.map((x) => countsDocument({ stations: new Map(net.approachStations.map((s) => [s.station_id, s])), model, interval_ms: MIN, history_intervals: 2 }, x, t));
      return [detectorDataMsg('TxDOT-WAC', lanes, 'America/Chicago'), iowaTrafficDetectorData('TxDOT', lanes, 'America/Chicago'), ...cameras].join('\n');
    };
    const a = docs('waco');
    expect(Buffer.from(docs('waco')).equals(Buffer.from(a))).toBe(true);
    expect(docs('elsewhere')).not.toBe(a);
  });
});
