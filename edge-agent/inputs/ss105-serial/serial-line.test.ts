/**
 * SS105 over a real serial line: a socat PTY pair, a simulated multidrop pair of sensors on one end, the driver
 * on the other. Needs socat (CI installs it).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../../platform/clock.ts';
import { alignDown } from '../../../protocol/index.ts';
import { ss105Device } from '../../../simulators/serial/ss105-device.ts';
import { TrafficModel } from '../../../simulators/traffic-model.ts';
import { CORE_STATIONS } from '../../../simulators/waco/core.ts';
import { ptyPair, socatAvailable, type PtyPair } from '../../../simulators/serial/pty-pair.ts';
import { openSerial, type SerialLink } from '../serial/link.ts';
import { Ss105ConfigSchema } from './config.ts';
import { ss105Input } from './driver.ts';

const required = process.env.WACOFLOW_REQUIRE_SERVICES === '1';
const T = Date.UTC(2026, 10, 24, 23, 0, 7);

describe.skipIf(!socatAvailable() && !required)('ss105-serial over a socat PTY pair', () => {
  let pty: PtyPair;
  let deviceLink: SerialLink;
  let noise = false;
  const model = new TrafficModel('serial');
  const stations = [CORE_STATIONS[0]!, CORE_STATIONS[3]!];
  beforeAll(async () => {
    pty = await ptyPair();
    deviceLink = await openSerial({ path: pty.b, baud_rate: 9600, data_bits: 8, parity: 'none', stop_bits: 1 });
    ss105Device({
      link: deviceLink, model, clock: new ManualClock(T), interval_ms: 20_000,
      drops: new Map([[3, stations[0]!], [17, stations[1]!]]),
      noise: () => (noise ? Buffer.from([0x00, 0xff, 0x5a, 0x30, 0x7e, 0x13, 0x37]) : Buffer.alloc(0)),
    });
  });
  afterAll(async () => {
    await deviceLink.close();
    pty.close();
  });

  const input = () =>
    ss105Input(Ss105ConfigSchema.parse({
      driver: 'ss105-serial', name: 'lp340', line: { path: pty.a, baud_rate: 9600 },
      drops: [{ drop: 3, station_id: stations[0]!.station_id }, { drop: 17, station_id: stations[1]!.station_id }, { drop: 99, station_id: 'absent' }],
      response_timeout_ms: 500,
    }));

  it('polls every drop and converts mph and scans into km/h and percent', async () => {
    const i = input();
    try {
      const r = await i.read(AbortSignal.timeout(10_000));
      const start = alignDown(T, 20_000) - 20_000;
      expect(r.samples).toHaveLength(stations[0]!.lanes + stations[1]!.lanes);
      expect(r.dropped).toEqual({ no_response: 1 }); // drop 99 is not on the line
      for (const s of r.samples) {
        const station = stations.find((x) => x.station_id === s.station_id)!;
        const lane = Number(s.detector_id.split('-l').at(-1));
        const truth = model.laneInterval(station, lane, start, 20_000);
        expect(s).toMatchObject({ start_ms: start, duration_ms: 20_000, volume: truth.volume, status: 'ok' });
        expect(s.occupancy_pct!).toBeCloseTo(Math.round(truth.occupancy_pct * 10.24) / 10.24, 9);
        if (truth.volume > 0) expect(s.speed_kmh!).toBeCloseTo(Math.round(truth.speed_kmh / 1.609344) * 1.609344, 9);
      }
    } finally {
      await i.close();
    }
  });

  it('reads through line noise, counting the bytes it threw away', async () => {
    noise = true;
    const i = input();
    try {
      const r = await i.read(AbortSignal.timeout(10_000));
      expect(r.samples).toHaveLength(stations[0]!.lanes + stations[1]!.lanes);
      expect(r.dropped.noise_bytes).toBeGreaterThan(0);
    } finally {
      noise = false;
      await i.close();
    }
  });

  it('reports a line where no sensor answers as a failed read', async () => {
    const silent = await ptyPair();
    const i = ss105Input(Ss105ConfigSchema.parse({ driver: 'ss105-serial', name: 'x', line: { path: silent.a }, drops: [{ drop: 1, station_id: 's' }], response_timeout_ms: 200 }));
    try {
      await expect(i.read(AbortSignal.timeout(5_000))).rejects.toThrow(/no sensor answered/);
    } finally {
      await i.close();
      silent.close();
    }
  });
});
