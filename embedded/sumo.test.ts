/**
 * `wacoflow sim --engine sumo` through the whole running system: SUMO moves the vehicles, the simulated feeds,
 * serial sensors and cameras serve its loops, real agents read them, and central's windows must show what SUMO
 * did. Three things are checked against one another, not against figures written here:
 * - every station of the city, from every driver, has final windows, and nothing warns;
 * - a camera's count of a linked approach equals its road station's count (both drivers, one set of vehicles);
 * - the incident SUMO is given (all but one lane of I-35 northbound closed at 4th/5th Street) queues traffic
 *   back to 12th Street and starves the Brazos bridge downstream, as a real lane closure does.
 */
import { describe, expect, it } from 'vitest';
import { scaledClock } from '../platform/clock.ts';
import { capturingLogger } from '../test/log-capture.ts';
import { WINDOW_MS, type WindowResult } from '../protocol/index.ts';
import { socatAvailable } from '../simulators/serial/pty-pair.ts';
import { sumoAvailable } from '../simulators/sumo/net-file.ts';
import { wacoNetwork } from '../simulators/waco/network.ts';
import { buildEmbedded } from './app.ts';
import { EmbeddedConfigSchema } from './config.ts';

const required = process.env.WACOFLOW_REQUIRE_SERVICES === '1';
/** Above 40× the SS105 line cannot poll its ten sensors within an interval (see `wacoflow sim --help`). */
const SPEEDUP = 40;
/** A Sunday, 09:00 in Waco: light traffic, so SUMO keeps up with the speed-up on two cores. */
const BOUNDARY = Date.UTC(2026, 10, 29, 15, 0);
/** The run starts 40 s before a window boundary; the default incidents begin 15 and 30 minutes in. */
const START = BOUNDARY - 40_000;
const BEFORE = BOUNDARY + WINDOW_MS; // 09:05–09:10, before the I-35 incident (from 09:14:20)
const DURING = BOUNDARY + 4 * WINDOW_MS; // 09:20–09:25, six minutes into it

describe.skipIf((!sumoAvailable() || !socatAvailable()) && !required)('simulator mode on SUMO', () => {
  it('serves SUMO’s vehicles through every driver: cameras agree with loops, and an incident queues traffic upstream', async () => {
    const { logger, lines, warnings } = capturingLogger();
    const config = EmbeddedConfigSchema.parse({ speedup: SPEEDUP, http_port: 0, grace_ms: 60_000, engine: 'sumo', incidents: 'on' });
    const system = buildEmbedded(config, { clock: scaledClock(SPEEDUP, START), logger, version: 'test' });
    const net = wacoNetwork();
    const windows = async (station_id: string): Promise<Map<number, WindowResult>> => {
      const res = await fetch(`${system.httpUrl()}/api/stations/${station_id}/windows?from_ms=${BOUNDARY}&to_ms=${DURING + WINDOW_MS}`);
      const body = (await res.json()) as { items: WindowResult[] };
      // Final, or revised after it (a serial line at this speed-up can deliver after the grace period).
      return new Map(body.items.filter((w) => w.state !== 'provisional').map((w) => [w.window_start_ms, w]));
    };
    const everyStation = [...net.stations.map((s) => s.station_id), ...net.approachStations.map((s) => s.station_id)];
    try {
      await system.start();
      // Until every station's window during the incident is final: simulated time runs at SUMO's pace.
      const deadline = Date.now() + 240_000;
      for (;;) {
        const missing: string[] = [];
        for (const id of everyStation) {
          const w = await windows(id);
          if (!w.has(DURING)) missing.push(`${id} (final up to ${w.size ? new Date(Math.max(...w.keys())).toISOString() : 'none'})`);
        }
        if (missing.length === 0) break;
        if (Date.now() > deadline) throw new Error(`no final window from ${new Date(DURING).toISOString()} within 240 s for ${missing.join(', ')}`);
        await new Promise((r) => setTimeout(r, 2_000));
      }

      // Every linked approach: the camera's movements add up to the road station's lanes, window by window.
      const pairs = net.intersections.flatMap((x) => x.approaches.filter((a) => a.linked_station_id).map((a) => [a.station_id, a.linked_station_id!] as const));
      expect(pairs.length).toBeGreaterThanOrEqual(20);
      let cameraTotal = 0;
      for (const [camera, road] of pairs) {
        const [c, r] = [await windows(camera), await windows(road)];
        for (let t = BEFORE; t <= DURING; t += WINDOW_MS) {
          const [cv, rv] = [c.get(t)!.volume!, r.get(t)!.volume!];
          cameraTotal += cv;
          // The same vehicles over the same loops, read by two drivers: a vehicle or two crosses between the
          // camera's one-minute intervals and the road station's 20-second ones at a window's edge.
          expect.soft(Math.abs(cv - rv), `${camera} against ${road} at ${new Date(t).toISOString()}: ${cv} and ${rv}`).toBeLessThanOrEqual(Math.max(3, 0.05 * rv));
        }
      }
      expect(cameraTotal).toBeGreaterThan(1_000);

      // The incident: traffic queues back from 4th/5th Street to 12th Street, and the bridge beyond it empties.
      const upstream = await windows('i35-nb-12th');
      const downstream = await windows('i35-nb-brazos');
      const [before, during] = [upstream.get(BEFORE)!, upstream.get(DURING)!];
      expect(before.congestion).toBe('clear');
      expect(['moderate', 'severe']).toContain(during.congestion);
      expect(during.speed_kmh!).toBeLessThan(0.5 * before.speed_kmh!);
      expect(downstream.get(DURING)!.volume!).toBeLessThan(0.5 * downstream.get(BEFORE)!.volume!);
    } finally {
      await system.stop();
    }
    expect(warnings()).toEqual([]);
    expect(lines.some((l) => l.msg.startsWith('SUMO is running'))).toBe(true);
  }, 300_000);
});
