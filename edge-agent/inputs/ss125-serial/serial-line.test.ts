/** SS125 over a real serial line (socat PTY pair), pushed and polled, with a simulated sensor. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../../platform/clock.ts';
import { alignDown } from '../../../protocol/index.ts';
import { ss125Device } from '../../../simulators/serial/ss125-device.ts';
import { TrafficModel } from '../../../simulators/traffic-model.ts';
import { CORE_STATIONS } from '../../../simulators/waco/core.ts';
import { ptyPair, socatAvailable, type PtyPair } from '../../../simulators/serial/pty-pair.ts';
import { openSerial, type SerialLink } from '../serial/link.ts';
import { Ss125ConfigSchema } from './config.ts';
import { ss125Input } from './driver.ts';

const required = process.env.WACOFLOW_REQUIRE_SERVICES === '1';
const T = Date.UTC(2026, 10, 24, 23, 0, 7);

describe.skipIf(!socatAvailable() && !required)('ss125-serial over a socat PTY pair', () => {
  let pty: PtyPair;
  let deviceLink: SerialLink;
  let device: ReturnType<typeof ss125Device>;
  const model = new TrafficModel('ss125');
  const station = CORE_STATIONS[4]!; // 4 lanes
  beforeAll(async () => {
    pty = await ptyPair();
    deviceLink = await openSerial({ path: pty.b, baud_rate: 9600, data_bits: 8, parity: 'none', stop_bits: 1 });
    device = ss125Device({ link: deviceLink, model, clock: new ManualClock(T), interval_ms: 20_000, drops: new Map([[201, station]]) });
  });
  afterAll(async () => {
    await deviceLink.close();
    pty.close();
  });

  const check = (samples: { detector_id: string; start_ms: number; volume: number | null; speed_kmh: number | null; occupancy_pct: number | null }[], end: number) => {
    expect(samples.map((s) => s.detector_id)).toEqual(Array.from({ length: station.lanes }, (_, i) => `${station.station_id}-l${i + 1}`));
    for (const [i, s] of samples.entries()) {
      const truth = model.laneInterval(station, i + 1, end - 20_000, 20_000);
      expect(s.start_ms).toBe(end - 20_000);
      expect(s.volume).toBe(truth.volume);
      expect(s.occupancy_pct!).toBeCloseTo(truth.occupancy_pct, 2);
      if (truth.volume > 0) expect(s.speed_kmh!).toBeCloseTo(truth.speed_kmh, 1);
    }
  };

  it('push: decodes the lane packets the sensor sends, not the approach total', async () => {
    const i = ss125Input(Ss125ConfigSchema.parse({ driver: 'ss125-serial', name: 'brazos', line: { path: pty.a }, mode: 'push', drops: [{ drop: 201, station_id: station.station_id }] }));
    try {
      await i.read(AbortSignal.timeout(2_000)); // opens the line
      const end = alignDown(T, 20_000);
      await device.push(end);
      const deadline = Date.now() + 5_000;
      let samples: Awaited<ReturnType<typeof i.read>>['samples'] = [];
      while (samples.length < station.lanes && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 50));
        samples = [...samples, ...(await i.read(AbortSignal.timeout(2_000))).samples];
      }
      check(samples, end);
    } finally {
      await i.close();
    }
  });

  it('poll: asks the drop and collects every packet of its answer', async () => {
    const i = ss125Input(Ss125ConfigSchema.parse({ driver: 'ss125-serial', name: 'brazos', line: { path: pty.a }, mode: 'poll', drops: [{ drop: 201, station_id: station.station_id }, { drop: 9, station_id: 'absent' }], response_timeout_ms: 500 }));
    try {
      const r = await i.read(AbortSignal.timeout(5_000));
      check(r.samples, alignDown(T, 20_000));
      expect(r.dropped).toEqual({ no_response: 1 });
    } finally {
      await i.close();
    }
  });
});
