/**
 * The whole agent under SIGKILL: 50 times (20 unless WACOFLOW_TEST_SCALE=full, test/scale.ts), at random moments, while it polls, seals, writes and publishes. The
 * feed repeats fifteen minutes of history (30 s of real time: longer than a restart takes on a loaded machine),
 * so a restarted agent reads again what it had not sealed yet — and must not count again what it had. In the end every lane's every 60-second slot holds exactly the vehicles
 * the feed served: none lost, none twice, and no seq ever stands for two different bins.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { alignDown } from '../protocol/index.ts';
import { scaledClock } from '../platform/clock.ts';
import { buildFeedServer } from '../simulators/tmdd-feed/server.ts';
import { TrafficModel } from '../simulators/traffic-model.ts';
import { CORE_STATIONS } from '../simulators/waco/core.ts';
import { receiveBins } from '../test/agent-helpers.ts';
import { localGateway } from '../test/local-gateway.ts';
import { scaled } from '../test/scale.ts';

const KILLS = scaled(20, 50);
const SPEEDUP = 30;
const CHILD = join(import.meta.dirname, 'crash-agent.ts');

describe('agent under SIGKILL', () => {
  it(`counts every vehicle exactly once over ${KILLS} kills`, async () => {
    const anchor = Date.now();
    const start = alignDown(Date.UTC(2026, 10, 24, 23, 0, 0), 60_000) - 30_000;
    const clock = scaledClock(SPEEDUP, start, anchor);
    const stations = [CORE_STATIONS[0]!, CORE_STATIONS[6]!];
    const model = new TrafficModel('agent-crash');
    const feed = buildFeedServer({
      feeds: [{ feed_id: 'f', organization_id: 'o', station_ids: stations.map((s) => s.station_id) }], stations, model, clock,
      interval_ms: 20_000, history_intervals: 45, time_zone: 'America/Chicago', host: '127.0.0.1', port: 0,
    });
    await feed.start();
    const { gateway, log } = await localGateway([{ device_id: 'agent-crash', secret: 'pw' }], clock);
    const { bins: received, stop: stopReceiving } = await receiveBins(log, 'crash');

    const dir = mkdtempSync(join(tmpdir(), 'wacoflow-agent-crash-'));
    const env = { ...process.env, WACOFLOW_TEST_CLOCK: `${SPEEDUP},${start},${anchor}` };
    const runChild = (lifetime_ms: number | null): Promise<void> =>
      new Promise((resolve, reject) => {
        const child = spawn(process.execPath, ['--import', 'tsx', CHILD, dir, gateway.url(), `${feed.feedUrl('f')}/detectorDataMsg`], { env, stdio: ['ignore', 'pipe', 'pipe'] });
        let err = '';
        child.stderr.on('data', (d: Buffer) => (err += d.toString()));
        child.stdout.on('data', (d: Buffer) => {
          if (!d.toString().includes('READY')) return;
          if (lifetime_ms !== null) setTimeout(() => child.kill('SIGKILL'), lifetime_ms);
          else resolve();
        });
        child.on('exit', (code, signal) => {
          if (signal === 'SIGKILL' || code === 0) resolve();
          else reject(new Error(`agent exited ${code}: ${err}`));
        });
        if (lifetime_ms === null) stopLast = () => new Promise<void>((r) => { child.once('exit', () => r()); child.kill('SIGTERM'); });
      });
    let stopLast: () => Promise<void> = async () => {};

    try {
      for (let k = 0; k < KILLS; k++) await runChild(300 + Math.floor(Math.random() * 2_000));
      await runChild(null); // the last one runs until everything is through
      const end = alignDown(clock.now(), 60_000); // slots before this are sealed once close_delay has passed
      // Until the last slot's bins have arrived (a loaded machine may take a while), then the last acknowledgements.
      const lastSlot = end - 60_000;
      const deadline = Date.now() + 60_000;
      const arrived = () => [...received.values()].filter((b) => b.bin_start_ms === lastSlot).length;
      const lanes = stations.reduce((n, s) => n + s.lanes, 0);
      while ((clock.now() < end + 130_000 || arrived() < lanes) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      await new Promise((r) => setTimeout(r, 1_000));
      await stopLast();

      const first = alignDown(start, 60_000) + 60_000;
      const got = new Map<string, number>();
      for (const b of received.values()) {
        const k = `${b.detector_id}@${b.bin_start_ms}`;
        got.set(k, (got.get(k) ?? 0) + (b.measures.volume ?? 0));
      }
      const wrong: string[] = [];
      let slots = 0;
      for (let slot = first; slot < end; slot += 60_000) {
        for (const s of stations) {
          for (let lane = 1; lane <= s.lanes; lane++) {
            let truth = 0;
            for (let t = slot; t < slot + 60_000; t += 20_000) truth += model.laneInterval(s, lane, t, 20_000).volume;
            const k = `${s.station_id}-l${lane}@${slot}`;
            slots++;
            if ((got.get(k) ?? 0) !== truth) wrong.push(`${k}: got ${got.get(k) ?? 0}, served ${truth}`);
          }
        }
      }
      expect(slots).toBeGreaterThan(50);
      expect(wrong).toEqual([]);
    } finally {
      await stopReceiving();
      await gateway.stop();
      await feed.stop();
    }
  }, 400_000);
});
