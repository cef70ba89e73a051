/**
 * The dashboard's map holding the whole simulated city, in a real headless Chromium (Debian's `chromium`,
 * driven by playwright-core): corridors drawn along their roads' geometry from /api/network, each
 * intersection one mark carrying its approaches' counts, labels on hover until the map is zoomed in, and the
 * zoom kept while live updates redraw the page. Screenshots go to test-artifacts/screenshots/.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildEmbedded } from '../../embedded/app.ts';
import { EmbeddedConfigSchema } from '../../embedded/config.ts';
import { scaledClock } from '../../platform/clock.ts';
import { socatAvailable } from '../../simulators/serial/pty-pair.ts';
import { wacoNetwork } from '../../simulators/waco/network.ts';
import { CHROMIUM, launchChromium, stepsOfTest } from '../../test/chromium.ts';
import { capturingLogger } from '../../test/log-capture.ts';

const required = process.env.WACOFLOW_REQUIRE_SERVICES === '1';
const SHOTS = join(import.meta.dirname, '..', '..', 'test-artifacts', 'screenshots');

describe.skipIf(((!CHROMIUM || !socatAvailable()) && !required))('the dashboard map on the whole city', () => {
  it('draws corridors along their roads, one mark per intersection, labels on hover or zoom, and keeps the zoom live', async () => {
    expect(CHROMIUM, 'chromium is required in CI: apt-get install chromium').toBeDefined();
    const net = wacoNetwork();
    const { logger, warnings } = capturingLogger('warn');
    const system = buildEmbedded(EmbeddedConfigSchema.parse({ speedup: 20, http_port: 0, incidents: 'off' }), { clock: scaledClock(20), logger, version: 'test' });
    const step = stepsOfTest(() => [system.stopping() && `the system's stop was waiting for ${system.stopping()}`, `last warnings: ${warnings().slice(-10).join(' | ') || 'none'}`].filter(Boolean).join('; '));
    step('starting the simulated city');
    await system.start();
    step('launching Chromium');
    const browser = await launchChromium();
    try {
      step('reading /api/network');
      // The API gives every corridor's geometry and every intersection's approach stations.
      const api = (await (await fetch(`${system.httpUrl()}/api/network`)).json()) as { corridors: { corridor_id: string; path: unknown[] }[]; intersections: { approaches: { station_id: string }[] }[] };
      expect(api.corridors.map((c) => c.path.length)).toEqual(net.corridors.map((c) => c.path.length));
      expect(api.intersections.flatMap((x) => x.approaches.map((a) => a.station_id)).sort()).toEqual(net.approachStations.map((s) => s.station_id).sort());

      step('opening the map');
      const page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
      await page.goto(`${system.httpUrl()}/dashboard/#/map`);
      await page.waitForSelector('svg.map g.station');

      // Each corridor is a polyline through its road's path points, not a straight line between its stations.
      const roads = await page.$$eval('svg.map polyline.road', (ps) => ps.map((p) => ({ id: p.getAttribute('data-corridor')!, points: p.getAttribute('points')!.trim().split(/\s+/).length })));
      const withStations = new Set(net.stations.map((s) => s.corridor_id));
      for (const c of net.corridors.filter((x) => withStations.has(x.corridor_id))) {
        expect(roads.find((r) => r.id === c.corridor_id)?.points, c.corridor_id).toBe(c.path.length);
      }

      // 80 road stations and 22 intersections: one mark each, an intersection's naming its approaches' counts.
      const marks = await page.$$eval('svg.map g.station', (gs) => gs.map((g) => ({ approaches: Number(g.getAttribute('data-approaches') ?? 0), title: g.querySelector('title')?.textContent ?? '' })));
      const intersections = marks.filter((m) => m.approaches > 0);
      expect(marks.length - intersections.length).toBe(net.stations.length);
      expect(intersections).toHaveLength(net.intersections.length);
      for (const x of intersections) expect(x.title).toMatch(/^.+: \w+ · ([NSEW] [\d,—]+ ?){2,4} veh$/);

      step('hovering');
      // Crowded and not zoomed: no label shows until a mark is hovered.
      const visibleLabels = () => page.$$eval('svg.map g.station text', (ts) => ts.filter((t) => t.getBoundingClientRect().width > 0).length);
      expect(await visibleLabels()).toBe(0);
      // A live redraw may replace the hovered mark before the labels are counted (under load, one did): move away
      // and hover again until they show.
      const hovered = async () => {
        await page.mouse.move(0, 0);
        await page.hover('svg.map g.station[data-approaches] circle');
        return visibleLabels();
      };
      await expect.poll(hovered, { timeout: 10_000 }).toBe(2);
      await page.screenshot({ path: (mkdirSync(SHOTS, { recursive: true }), join(SHOTS, 'city-map.png')) });

      step('zooming');
      // Zoomed in (twice by the + button), every label in view shows; the zoom survives live redraws.
      await page.click('[data-zoom="in"]');
      await page.click('[data-zoom="in"]');
      const viewBox = await page.getAttribute('svg.map', 'viewBox');
      expect(Number(viewBox!.split(' ')[2])).toBeLessThan(900 / 2.5);
      expect(await page.getAttribute('svg.map', 'class')).toContain('zoomed');
      // A live redraw may be replacing the map at this moment (under load, one did): look until it settles.
      await expect.poll(visibleLabels, { timeout: 10_000 }).toBeGreaterThan(0);
      await page.screenshot({ path: join(SHOTS, 'city-map-zoomed.png') });
      // Window results arrive every few seconds and each redraws the map: wait for one, then look again.
      step('waiting for a live redraw');
      const drawn = await page.getAttribute('svg.map', 'data-drawn');
      await page.waitForSelector(`svg.map:not([data-drawn="${drawn}"])`, { timeout: 45_000 });
      expect(await page.getAttribute('svg.map', 'viewBox')).toBe(viewBox);
      await page.click('[data-zoom="reset"]');
      expect(await page.getAttribute('svg.map', 'viewBox')).toBe('0 0 900 640');
    } finally {
      step('closing Chromium');
      await browser.close();
      step('stopping the system');
      await system.stop();
    }
  }, 180_000);
});
