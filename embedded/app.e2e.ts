/**
 * The walking skeleton end to end: simulated TMDD feed → agents → MQTT → gateway → log → central → store → HTTP.
 * The expected windows are computed independently, from the traffic model the feed serves, and every station's
 * first complete window must match them exactly (volume to the vehicle, occupancy and speed to rounding).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { expect } from 'vitest';
import { alignDown, WINDOW_MS, type WindowResult } from '../protocol/index.ts';
import { scaledClock } from '../platform/clock.ts';
import { TrafficModel } from '../simulators/traffic-model.ts';
import { CORE_STATIONS } from '../simulators/waco/core.ts';
import { wacoNetwork } from '../simulators/waco/network.ts';
import { buildEmbedded } from './app.ts';
import { EmbeddedConfigSchema } from './config.ts';

const SPEEDUP = 30;
const FEED_INTERVAL_MS = 20_000;
const DAY_MS = 86_400_000;

interface StationsBody {
  count: number;
  stations: { station_id: string; current: WindowResult | null; last_final: WindowResult | null }[];
}

/** What the feed served for a station over one window: the ground truth the pipeline must reproduce. */
function expectedWindow(model: TrafficModel, station_id: string, window_start_ms: number) {
  const station = CORE_STATIONS.find((s) => s.station_id === station_id)!;
  let volume = 0;
  let occupancy = 0;
  let intervals = 0;
  let speedSum = 0;
  let speedWeight = 0;
  for (let t = window_start_ms; t < window_start_ms + WINDOW_MS; t += FEED_INTERVAL_MS) {
    for (let lane = 1; lane <= station.lanes; lane++) {
      const l = model.laneInterval(station, lane, t, FEED_INTERVAL_MS);
      volume += l.volume;
      occupancy += l.occupancy_pct;
      intervals++;
      if (!l.speed_sentinel && l.volume > 0 && l.speed_kmh > 0) {
        speedSum += l.speed_kmh * l.volume;
        speedWeight += l.volume;
      }
    }
  }
  return { volume, occupancy_pct: occupancy / intervals, speed_kmh: speedWeight > 0 ? speedSum / speedWeight : null, samples: intervals };
}

export interface SkeletonOptions {
  kafka_brokers?: string[];
  database_url?: string | null;
}

export async function runSkeleton(options: SkeletonOptions = {}): Promise<void> {
  // A random past evening (17:00 in Waco, the evening peak), so runs against a shared Kafka never write into
  // each other's windows.
  const day = Math.floor(Date.now() / DAY_MS) - 30 - Math.floor(Math.random() * 3_000);
  const clock = scaledClock(SPEEDUP, alignDown(day * DAY_MS + 23 * 3_600_000, WINDOW_MS) - 40_000);
  const config = EmbeddedConfigSchema.parse({
    speedup: SPEEDUP,
    http_port: 0,
    // At 30× a second of real Kafka latency is 30 simulated seconds: the grace must cover the real path, or the
    // window is (rightly) final as no_data first and revised when the bins land.
    grace_ms: 150_000,
    incidents: 'off',
    // The core network: every station's window is checked against the model lane by lane (city.test.ts runs the city).
    network: 'core',
    kafka_brokers: options.kafka_brokers ?? [],
    database_url: options.database_url ?? null,
    // Topics of its own: a shared Kafka's wacoflow.bins.v1 holds other runs' bins, which central would read first.
    topic_prefix: options.kafka_brokers?.length ? `skeleton-${Math.random().toString(36).slice(2, 10)}` : null,
  });
  const logger = pino({ level: process.env.WACOFLOW_TEST_LOG ?? 'silent' });
  const system = buildEmbedded(config, { clock, logger, version: 'test' });
  const model = new TrafficModel(config.seed, { network: wacoNetwork() });
  try {
    await system.start();
    // Start-up takes real seconds (more on a loaded machine), which are many simulated ones: the first window
    // to check is the first that begins after the agents were already polling.
    const boundary = alignDown(clock.now(), WINDOW_MS) + WINDOW_MS;
    const url = system.httpUrl();
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);

    // The first complete window of every station must become final.
    let body: StationsBody | null = null;
    const deadline = Date.now() + 90_000;
    for (;;) {
      body = (await (await fetch(`${url}/api/stations`)).json()) as StationsBody;
      if (body.stations.every((s) => s.last_final && s.last_final.window_start_ms >= boundary)) break;
      if (Date.now() > deadline) throw new Error(`no final window for every station within 90 s: ${JSON.stringify(body.stations.map((s) => [s.station_id, s.last_final?.window_start_ms ?? null]))}`);
      await new Promise((r) => setTimeout(r, 250));
    }

    expect(body.count).toBe(CORE_STATIONS.length);
    for (const s of body.stations) {
      const w = s.last_final!;
      const want = expectedWindow(model, s.station_id, w.window_start_ms);
      expect.soft(w, s.station_id).toMatchObject({ level: 'station', key: s.station_id, state: 'final', status: 'ok', observed_fraction: 1 });
      expect.soft(w.measures.samples_seen, `${s.station_id} samples`).toBe(want.samples);
      expect.soft(w.volume, `${s.station_id} volume`).toBe(want.volume);
      expect.soft(w.occupancy_pct!, `${s.station_id} occupancy`).toBeCloseTo(want.occupancy_pct, 9);
      expect.soft(w.speed_kmh!, `${s.station_id} speed`).toBeCloseTo(want.speed_kmh!, 9);
      expect.soft(['clear', 'light', 'moderate', 'severe']).toContain(w.congestion);
      expect.soft(s.current, `${s.station_id} current`).not.toBeNull();
    }

    const health = await fetch(`${url}/api/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: 'ok', checks: { log: config.kafka_brokers.length ? 'kafka' : 'memory', consumer: 'running' } });

    const metrics = await (await fetch(`${url}/metrics`)).text();
    const stored = Number(/^wacoflow_central_bins_total\{result="stored"\} (\d+)/m.exec(metrics)?.[1] ?? 0);
    expect(stored).toBeGreaterThan(0);
    expect(metrics).toMatch(/^wacoflow_gateway_messages_total\{kind="bins",result="forwarded"\} \d+/m);
    checkWithPromtool(metrics);

    for (const agent of system.agents()) {
      expect(agent.connected()).toBe(true);
      expect(agent.acknowledged()).toBeGreaterThan(0);
    }
  } finally {
    await system.stop();
  }
}

/** `promtool check metrics` on the scrape, when Prometheus's promtool is installed (CI installs it). */
function checkWithPromtool(text: string): void {
  const promtool = ['/usr/bin/promtool', '/usr/local/bin/promtool'].find((p) => existsSync(p));
  if (!promtool) {
    if (process.env.WACOFLOW_REQUIRE_SERVICES === '1') throw new Error('promtool is required in CI: apt-get install prometheus');
    return;
  }
  const file = join(mkdtempSync(join(tmpdir(), 'wacoflow-metrics-')), 'metrics.txt');
  writeFileSync(file, text);
  // Exit status 0 means the exposition format is valid; lint findings are printed on stdout.
  execFileSync('sh', ['-c', `"${promtool}" check metrics < "${file}"`], { stdio: 'pipe' });
}
