/**
 * The agent bundle on arm64, as on a Raspberry Pi (qemu-user-static): it starts on an arm64 Node 20, parses a
 * feed document to the same samples as on x64, and `check` reads a live feed over the network.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../platform/clock.ts';
import { buildFeedServer } from '../simulators/tmdd-feed/server.ts';
import { TrafficModel } from '../simulators/traffic-model.ts';
import { WACO_FEEDS, WACO_STATIONS } from '../simulators/waco-network.ts';
import { arm64Available, arm64Node, NODE_ARM64_VERSION, underQemu } from '../test/arm64.ts';

const run = promisify(execFile);
const root = join(import.meta.dirname, '..');
const bundle = join(root, 'dist', 'wacoflow-agent.mjs');
const required = process.env.WACOFLOW_REQUIRE_SERVICES === '1';

describe.skipIf(!arm64Available() && !required)('agent bundle on arm64 (qemu)', () => {
  let node = '';
  beforeAll(async () => {
    node = arm64Node(root);
    await run(process.execPath, [join(root, 'scripts', 'build-agent.mjs')]);
  }, 180_000);

  const qemu = (args: string[]) => {
    const [cmd, argv] = underQemu(node, args);
    return run(cmd, argv, { timeout: 120_000, maxBuffer: 16 * 1024 * 1024 });
  };

  it('is an arm64 Node 20', async () => {
    const { stdout } = await qemu(['-p', 'process.version + " " + process.arch']);
    expect(stdout.trim()).toBe(`v${NODE_ARM64_VERSION} arm64`);
  }, 120_000);

  it('parses a feed document to exactly the samples x64 gets', async () => {
    const doc = join(root, 'edge-agent', 'inputs', 'tmdd-http', 'fixtures', 'iowa-dot-sims-trafficDetectorData-2017-02-03.xml');
    const args = [bundle, 'tmdd', 'parse', doc, '--tz', 'America/Chicago'];
    const [arm, x64] = await Promise.all([qemu(args), run(process.execPath, args)]);
    expect(arm.stdout.split('\n').filter(Boolean)).toHaveLength(20);
    expect(arm.stdout).toBe(x64.stdout);
  }, 120_000);

  it('check: reads a live TMDD feed over the network', async () => {
    const feed = buildFeedServer({
      feeds: WACO_FEEDS, stations: WACO_STATIONS, model: new TrafficModel('arm64'), clock: systemClock, interval_ms: 20_000,
      history_intervals: 3, time_zone: 'America/Chicago', host: '127.0.0.1', port: 0,
    });
    await feed.start();
    try {
      const file = join(mkdtempSync(join(tmpdir(), 'wacoflow-arm64-')), 'agent.yaml');
      writeFileSync(file, ['device_id: pi-1', 'site: waco', 'mqtt_url: mqtt://127.0.0.1:9', 'mqtt_password: x', 'inputs:', '  - driver: tmdd-http', '    name: i35', `    url: ${feed.feedUrl('txdot-i35')}/detectorDataMsg`].join('\n'));
      const r = await qemu([bundle, 'check', '--config', file]).catch((e: { stdout: string; code: number }) => e);
      expect((r as { stdout: string }).stdout).toContain('configuration valid — device pi-1');
      expect((r as { stdout: string }).stdout).toMatch(/^i35\s+i35-nb-lp340-south-l1\s+/m);
    } finally {
      await feed.stop();
    }
  }, 120_000);
});
