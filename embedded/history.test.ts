/**
 * Simulator mode with a past: `history_days` writes the days before the start as final station windows, and
 * central's analytics warm up on them, so the first forecasts already carry intervals learnt from scored
 * forecasts and the station page has something to show.
 */
import { describe, expect, it } from 'vitest';
import { scaledClock } from '../platform/clock.ts';
import { CORE_STATIONS } from '../simulators/waco/core.ts';
import { capturingLogger } from '../test/log-capture.ts';
import { buildEmbedded } from './app.ts';
import { EmbeddedConfigSchema } from './config.ts';

interface Forecast { horizon_min: number; speed_kmh: number | null; speed_low_kmh: number | null; speed_high_kmh: number | null }
interface StationsBody { stations: { station_id: string; forecast: Forecast[] }[] }

describe('simulated history', () => {
  it('starts central with a week of past windows: forecasts carry intervals from the first final window', async () => {
    const { logger, lines } = capturingLogger('info');
    const config = EmbeddedConfigSchema.parse({ network: 'core', speedup: 60, http_port: 0, grace_ms: 30_000, incidents: 'off', history_days: 7 });
    const system = buildEmbedded(config, { clock: scaledClock(60), logger, version: 'test' });
    await system.start();
    try {
      const written = lines.find((l) => l.msg.startsWith('simulated history written')) as unknown as { windows: number; stations: number } | undefined;
      expect(written).toMatchObject({ windows: 7 * 288 * CORE_STATIONS.length, stations: CORE_STATIONS.length });
      let body: StationsBody | null = null;
      const until = Date.now() + 60_000;
      const ready = (b: StationsBody) => b.stations.length === CORE_STATIONS.length && b.stations.every((s) => s.forecast.length === 3 && s.forecast.every((f) => f.speed_low_kmh !== null));
      while (Date.now() < until && !(body && ready(body))) {
        await new Promise((r) => setTimeout(r, 500));
        body = (await (await fetch(`${system.httpUrl()}/api/stations`)).json()) as StationsBody;
      }
      expect(body && ready(body), `forecasts with intervals for every core station: ${JSON.stringify(body?.stations.map((s) => [s.station_id, s.forecast[0]]))}`).toBe(true);
      for (const s of body!.stations) {
        for (const f of s.forecast) {
          expect(f.speed_low_kmh!).toBeLessThanOrEqual(f.speed_kmh!);
          expect(f.speed_high_kmh!).toBeGreaterThanOrEqual(f.speed_kmh!);
        }
      }
    } finally {
      await system.stop();
    }
  }, 120_000);

  it('is refused with the SUMO engine, which has no past to write', () => {
    const r = EmbeddedConfigSchema.safeParse({ engine: 'sumo', history_days: 3 });
    expect(r.success).toBe(false);
    expect(r.error?.issues[0]).toMatchObject({ path: ['history_days'], message: 'the SUMO engine has no past to write: leave it out, or use --engine model' });
  });
});
