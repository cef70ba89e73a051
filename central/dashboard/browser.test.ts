/**
 * The dashboard in a real headless Chromium (Debian's `chromium`, driven by playwright-core; CI installs it),
 * against the whole simulator in this process at 60× time plus one real agent process:
 *
 * - the map shows every station, coloured and labelled by congestion;
 * - the scheduled I-35 incident turns its station severe on the open page, without a reload;
 * - SIGKILLing the agent process shows it offline on the fleet page (its last will, through the gateway);
 * - boards' heartbeats over MQTT show each one's applied configuration, a refused document and its update state
 *   on the fleet page, and a dash for a board that predates those reports;
 * - the station page draws its speed, volume and occupancy charts, and its forecast with 80 % intervals (the
 *   city starts with a week of simulated history);
 * - the alerts page lists the onset warning the incident's queue gives the station upstream, and the incident
 *   itself, found from the occupancies either side of it.
 *
 * Screenshots go to test-artifacts/screenshots/.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { buildEmbedded } from '../../embedded/app.ts';
import { EmbeddedConfigSchema } from '../../embedded/config.ts';
import { encode, mqttTopic, type Heartbeat } from '../../protocol/index.ts';
import { scaledClock } from '../../platform/clock.ts';
import { CORE_STATIONS } from '../../simulators/waco/core.ts';
import { CHROMIUM, launchChromium, stepsOfTest } from '../../test/chromium.ts';
import { capturingLogger } from '../../test/log-capture.ts';

const required = process.env.WACOFLOW_REQUIRE_SERVICES === '1';
const ROOT = join(import.meta.dirname, '..', '..');
const SHOTS = join(ROOT, 'test-artifacts', 'screenshots');
const INCIDENT_STATION = 'i35-nb-4th-5th';

/** A board's heartbeat as an agent sends it, with whatever configuration and update reports it carries. */
const heartbeat = (device_id: string, ts_ms: number, reports: Pick<Heartbeat, 'config' | 'update'>): Heartbeat => ({
  ...reports, v: 1, device_id, ts_ms, uptime_s: 600, version: '0.2.0', config_hash: 'local', cpu_pct: 5, mem_rss_bytes: 40_000_000, temperature_c: 51,
  disk_free_bytes: 1e9, outbox: { depth: 0, bytes: 0, oldest_age_ms: null, last_error: null }, inputs: [], clock: { synced: true, offset_ms: 1 }, dead_letters_total: 0,
});

const shot = async (page: Page, name: string) => {
  mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
};

describe.skipIf(!CHROMIUM && !required)('dashboard in Chromium', () => {
  it('shows every station, follows a congestion change live, an agent going offline, and draws station charts', async () => {
    expect(CHROMIUM, 'chromium is required in CI: apt-get install chromium').toBeDefined();
    const { logger, warnings } = capturingLogger('warn');
    const clock = scaledClock(60);
    // At 60x a simulated grace is 60 times shorter in real time: 30 s of it (0.5 s) let a loaded CI machine finalise
    // windows before their bins arrived, and the alerts the page waits for never came. Two minutes is 2 s.
    const system = buildEmbedded(EmbeddedConfigSchema.parse({ speedup: 60, http_port: 0, grace_ms: 120_000, network: 'core', history_days: 7 }), { clock, logger, version: 'test' });
    const step = stepsOfTest(() => [system.stopping() && `the system's stop was waiting for ${system.stopping()}`, `last warnings: ${warnings().slice(-10).join(' | ') || 'none'}`].filter(Boolean).join('; '));
    step('starting the simulated city');
    await system.start();
    const dir = mkdtempSync(join(tmpdir(), 'wacoflow-dashboard-'));
    await system.addDevice('agent-cabinet-7', 'cabinet-secret');
    writeFileSync(join(dir, 'agent.yaml'), JSON.stringify({
      device_id: 'agent-cabinet-7', site: 'waco', mqtt_url: system.mqttUrl(), mqtt_password: 'cabinet-secret', data_dir: join(dir, 'data'),
      heartbeat_interval_ms: 1_000, inputs: [{ driver: 'tmdd-http', name: 'signals', url: system.feedUrl('waco-signals'), poll_interval_ms: 10_000 }],
    }));
    const agent = spawn(process.execPath, [join(ROOT, 'bin', 'wacoflow.js'), 'agent', '--config', join(dir, 'agent.yaml'), '--log-level', 'warn'], { stdio: 'ignore' });
    step('launching Chromium');
    const browser = await launchChromium();
    try {
      step('opening the map');
      const page = await browser.newPage({ viewport: { width: 1920, height: 1080 } });
      await page.goto(`${system.httpUrl()}/`);
      await page.waitForSelector('svg.map g.station');
      await page.evaluate(() => ((globalThis as unknown as { loadedOnce: boolean }).loadedOnce = true));

      // Every station on the map, each with its level as a word beside its colour.
      const marks = await page.$$eval('svg.map g.station', (gs) => gs.map((g) => ({ id: g.getAttribute('data-station'), level: g.getAttribute('data-level'), text: g.textContent })));
      expect(marks.map((m) => m.id).sort()).toEqual(CORE_STATIONS.map((s) => s.station_id).sort());
      for (const m of marks) expect(m.text).toContain(m.level!);
      // Every label readable: none covers another station's label or mark, none runs off the map.
      // The marks are found and measured in one evaluation: found by $$eval, a map redrawn in between once left
      // them detached, with no SVG around them to measure against.
      const boxes = await page.locator('svg.map').evaluate((svg) => {
        const gs = [...svg.querySelectorAll('g.station')];
        type Rects = { getBoundingClientRect(): { left: number; top: number; right: number; bottom: number } };
        const rect = (els: Rects[]) => {
          const rs = els.map((e) => e.getBoundingClientRect());
          return { x0: Math.min(...rs.map((r) => r.left)), y0: Math.min(...rs.map((r) => r.top)), x1: Math.max(...rs.map((r) => r.right)), y1: Math.max(...rs.map((r) => r.bottom)) };
        };
        const map = (gs[0]!.ownerSVGElement as unknown as Rects).getBoundingClientRect();
        return {
          map: { x0: map.left, y0: map.top, x1: map.right, y1: map.bottom },
          stations: gs.map((g) => ({ id: g.getAttribute('data-station')!, label: rect([...g.querySelectorAll('text')]), mark: rect([g.querySelector('circle')!]) })),
        };
      });
      type Box = { x0: number; y0: number; x1: number; y1: number };
      const meets = (a: Box, b: Box) => Math.min(a.x1, b.x1) - Math.max(a.x0, b.x0) > 0.5 && Math.min(a.y1, b.y1) - Math.max(a.y0, b.y0) > 0.5;
      for (const a of boxes.stations) {
        expect(a.label.x0 >= boxes.map.x0 && a.label.x1 <= boxes.map.x1 && a.label.y0 >= boxes.map.y0 && a.label.y1 <= boxes.map.y1, `${a.id}'s label inside the map`).toBe(true);
        for (const b of boxes.stations) {
          if (a.id === b.id) continue;
          expect(meets(a.label, b.label), `${a.id}'s label over ${b.id}'s label`).toBe(false);
          expect(meets(a.label, b.mark), `${a.id}'s label over ${b.id}'s mark`).toBe(false);
        }
      }
      await shot(page, 'map');

      step('waiting for the incident to turn its station severe');
      // The incident (simulated minute 15, about 15 s in): the station turns severe on this page, no reload.
      const severe = `svg.map g.station[data-station="${INCIDENT_STATION}"][data-level="severe"]`;
      await page.waitForSelector(severe, { timeout: 120_000 });
      expect(await page.evaluate(() => (globalThis as unknown as { loadedOnce?: boolean }).loadedOnce)).toBe(true);
      await shot(page, 'map-incident');

      step('the fleet page');
      // The fleet page: the real agent process online, then offline once it is killed.
      await page.goto(`${system.httpUrl()}/dashboard/#/fleet`);
      const row = 'tr[data-device="agent-cabinet-7"]';
      await page.waitForSelector(`${row} .chip[data-level="online"]`, { timeout: 60_000 });
      agent.kill('SIGKILL');
      await page.waitForSelector(`${row} .chip[data-level="offline"]`, { timeout: 60_000 });
      // Sorting and filtering work on the same rows.
      await page.fill('#fleet-filter', 'cabinet');
      expect(await page.$$eval('#fleet tbody tr', (rows) => rows.map((r) => r.getAttribute('data-device')))).toEqual(['agent-cabinet-7']);
      await page.fill('#fleet-filter', '');
      await page.click('th[data-key="status"]');

      step('boards reporting over MQTT');
      // Three boards report over MQTT: one refused its device document and rolled an update back, one applied
      // everything and installed its update, one is an agent from before these reports.
      const reports: Record<string, Pick<Heartbeat, 'config' | 'update'>> = {
        'board-refusing': {
          config: { applied_hash: 'sha256:0123456789abcdef', versions: { fleet: 3, site: 2, device: null }, refused: { scope: 'device', version: 4, reason: 'inputs.0.url: must be a URL', ts_ms: clock.now() } },
          update: { state: 'rolled_back', version: '0.3.0', reason: 'no heartbeat acknowledged on trial', ts_ms: clock.now() },
        },
        'board-current': {
          config: { applied_hash: 'sha256:fedcba9876543210', versions: { fleet: 3, site: 2, device: 1 }, refused: null },
          update: { state: 'installed', version: '0.2.0', reason: null, ts_ms: clock.now() },
        },
        'board-old': {},
      };
      for (const [device_id, report] of Object.entries(reports)) {
        await system.addDevice(device_id, 'board-secret');
        const board = await mqtt.connectAsync(system.mqttUrl(), { clientId: device_id, username: device_id, password: 'board-secret', reconnectPeriod: 0 });
        await board.publishAsync(mqttTopic('waco', device_id, 'health'), encode(heartbeat(device_id, clock.now(), report)), { qos: 1 });
        await board.endAsync();
      }
      await page.waitForSelector('tr[data-device="board-old"]', { timeout: 30_000 });
      const cells = async (device_id: string) =>
        page.$eval(`tr[data-device="${device_id}"]`, (tr) => {
          const text = (selector: string) => tr.querySelector(selector)?.textContent?.trim() ?? null;
          return { config: text('td.config'), hash: text('td.config code'), versions: text('td.config .versions'), refusal: text('td.config .refusal'), update: text('td.update'), updateWarns: tr.querySelector('td.update .warn') !== null };
        });
      expect(await cells('board-refusing')).toEqual({
        config: expect.any(String), hash: '01234567', versions: 'fleet 3 · site 2 · device —',
        refusal: expect.stringMatching(/^⚠ refused device v4 at .+: inputs\.0\.url: must be a URL$/),
        update: '⚠ rolled back 0.3.0: no heartbeat acknowledged on trial', updateWarns: true,
      });
      expect(await page.isVisible('tr[data-device="board-refusing"] .refusal')).toBe(true);
      expect(await cells('board-current')).toEqual({ config: 'fedcba98 fleet 3 · site 2 · device 1', hash: 'fedcba98', versions: 'fleet 3 · site 2 · device 1', refusal: null, update: 'installed 0.2.0', updateWarns: false });
      expect(await cells('board-old')).toEqual({ config: '—', hash: null, versions: null, refusal: null, update: '—', updateWarns: false });
      expect(await page.textContent('#fleet-refusing')).toBe('1 refused a configuration');
      await shot(page, 'fleet');

      step('the station page');
      // The station page: three charts with data.
      await page.goto(`${system.httpUrl()}/dashboard/#/station/${INCIDENT_STATION}`);
      await page.waitForSelector('svg.chart[data-chart="Speed"]');
      // The forecast, one row per horizon, each with its 80 % interval (a week of simulated history has scored
      // enough forecasts), drawn on the speed chart as a bar through each forecast dot.
      const forecastRows = await page.$$eval('table.forecast tbody tr', (trs) => trs.map((tr) => ({ horizon: tr.getAttribute('data-horizon'), speed: tr.querySelector('td.speed')?.textContent ?? '' })));
      expect(forecastRows.map((r) => r.horizon)).toEqual(['15', '30', '60']);
      for (const r of forecastRows) {
        const [, mean, low, high] = /^(\d+) km\/h \((\d+)–(\d+)\)$/.exec(r.speed) ?? [];
        expect(r.speed, 'speed, then its interval').toMatch(/^\d+ km\/h \(\d+–\d+\)$/);
        expect(Number(low)).toBeLessThanOrEqual(Number(mean));
        expect(Number(high)).toBeGreaterThanOrEqual(Number(mean));
      }
      expect(await page.$$eval('svg.chart[data-chart="Speed"] line.interval', (ls) => ls.length)).toBe(3);
      const charts = await page.$$eval('svg.chart', (svgs) => svgs.map((s) => ({ name: s.getAttribute('data-chart'), points: Number(s.getAttribute('data-points')), path: s.querySelector('path.series')?.getAttribute('d') ?? '' })));
      expect(charts.map((c) => c.name)).toEqual(['Speed', 'Volume', 'Occupancy']);
      for (const c of charts) {
        expect(c.points, c.name!).toBeGreaterThan(0);
        expect(c.path, c.name!).toMatch(/^M[\d.]+,[\d.]+/);
      }
      await shot(page, 'station');

      step('the alerts page');
      // The incident's queue warns the station upstream before it arrives (congestion onset, from the corridor
      // order of the inventory), and the pair's occupancies raise an incident between the two; both alerts are
      // listed, open or since closed.
      await page.goto(`${system.httpUrl()}/dashboard/#/alerts`);
      await page.waitForSelector('[data-alert^="traffic:congestion_onset:i35-nb-12th:"]', { state: 'attached', timeout: 120_000 });
      await page.waitForSelector(`[data-alert^="traffic:incident:${INCIDENT_STATION}:"]`, { state: 'attached', timeout: 120_000 });
      await shot(page, 'alerts');

      step('the processing page');
      // Alerts and processing pages render from the same API.
      await page.goto(`${system.httpUrl()}/dashboard/#/processing`);
      await page.waitForSelector('#kpi-lag');
      // The last hour as charts: consume rate, lag and batch time, each drawn from the API's history.
      const pipelineCharts = await page.$$eval('svg.chart', (svgs) => svgs.map((s) => ({ name: s.getAttribute('data-chart'), points: Number(s.getAttribute('data-points')) })));
      expect(pipelineCharts.find((c) => c.name === 'consumer lag, last hour')?.points).toBeGreaterThan(0);
      await shot(page, 'processing');
    } finally {
      agent.kill('SIGKILL');
      step('closing Chromium');
      await browser.close();
      step('stopping the system');
      await system.stop();
    }
  }, 300_000);
});
