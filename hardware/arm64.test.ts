/**
 * The arm64 bundle that `wacoflow build-agent --arch arm64` writes, run as on a Raspberry Pi (qemu-user-static):
 * its own Node runtime starts, it parses a feed document to the same samples as on x64, and it reads a
 * simulated Wavetronix SS105 through a real serial line (a PTY pair), loading serialport's arm64 binding from
 * the bundle, and delivers bins through a gateway to central, which stores the station's windows.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pino from 'pino';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends, ownTopics, startCentral } from '../central/testing.ts';
import { openSerial } from '../edge-agent/inputs/serial/link.ts';
import { readManifest } from '../edge-agent/update/manifest.ts';
import { buildGateway } from '../gateway/app.ts';
import { hashSecret, MemoryDeviceRegistry } from '../gateway/registry/devices.ts';
import { systemClock } from '../platform/clock.ts';
import { ss105Device } from '../simulators/serial/ss105-device.ts';
import { TrafficModel } from '../simulators/traffic-model.ts';
import { CORE_STATIONS } from '../simulators/waco/core.ts';
import { arm64Available, underQemu } from '../test/arm64.ts';
import { ptyPair } from '../simulators/serial/pty-pair.ts';
import { buildAgentBundle } from './bundle/build.ts';
import { BUNDLED_NODE_VERSION } from './bundle/node-runtime.ts';

const run = promisify(execFile);
const root = join(import.meta.dirname, '..');
const required = process.env.WACOFLOW_REQUIRE_SERVICES === '1';

describe.skipIf(!arm64Available() && !required)('agent bundle on arm64 (qemu)', () => {
  const bundle = join(mkdtempSync(join(tmpdir(), 'wacoflow-arm64-')), 'bundle');
  beforeAll(async () => {
    await buildAgentBundle({ arch: 'arm64', out: bundle });
  }, 300_000);

  const flags = () => readManifest(bundle).runtime.node_flags;
  /** The bundle's own arm64 `node` with its V8 flags, as its `run` script starts it, under qemu. */
  const qemuArgs = (args: string[]) => underQemu(join(bundle, 'bin', 'node'), [...flags(), join(bundle, 'wacoflow-agent.mjs'), ...args]);
  const qemu = (args: string[]) => {
    const [cmd, argv] = qemuArgs(args);
    return run(cmd, argv, { timeout: 120_000, maxBuffer: 16 * 1024 * 1024 });
  };

  it('ships an arm64 Node runtime and says so in its manifest', async () => {
    const [cmd, argv] = underQemu(join(bundle, 'bin', 'node'), ['-p', 'process.version + " " + process.arch']);
    const { stdout } = await run(cmd, argv, { timeout: 120_000 });
    expect(stdout.trim()).toBe(`v${BUNDLED_NODE_VERSION} arm64`);
    expect(readManifest(bundle)).toMatchObject({ arch: 'arm64', entry: 'wacoflow-agent.mjs', runtime: { node: 'bin/node', node_version: BUNDLED_NODE_VERSION } });
  }, 120_000);

  it('parses a feed document to exactly the samples x64 gets', async () => {
    const doc = join(root, 'edge-agent', 'inputs', 'tmdd-http', 'fixtures', 'iowa-dot-sims-trafficDetectorData-2017-02-03.xml');
    const args = ['tmdd', 'parse', doc, '--tz', 'America/Chicago'];
    const [arm, x64] = await Promise.all([qemu(args), run(process.execPath, ['--import', 'tsx', join(root, 'edge-agent', 'main.ts'), ...args])]);
    expect(arm.stdout.split('\n').filter(Boolean)).toHaveLength(20);
    expect(arm.stdout).toBe(x64.stdout);
  }, 120_000);

  describe('an SS105 on a serial line, through a gateway, to stored windows', () => {
    const station = CORE_STATIONS[0]!;
    let cleanup: (() => Promise<void>)[] = [];
    afterAll(async () => {
      for (const c of cleanup.reverse()) await c().catch(() => {});
      cleanup = [];
    });

    it('delivers the sensor\'s bins, read with the bundle\'s arm64 serialport binding', async () => {
      // The sensor at the far end of the cable.
      const pty = await ptyPair();
      cleanup.push(async () => pty.close());
      const sensorLink = await openSerial({ path: pty.b, baud_rate: 9600, data_bits: 8, parity: 'none', stop_bits: 1 });
      cleanup.push(() => sensorLink.close());
      const sensor = ss105Device({ link: sensorLink, model: new TrafficModel('arm64-ss105'), clock: systemClock, interval_ms: 20_000, drops: new Map([[1, station]]) });

      // Central on the in-process log and PGlite, and a gateway writing to the same log.
      const env = await backends()[0]!.open();
      cleanup.push(() => env.close());
      const topics = ownTopics();
      const central = await startCentral(env, { clock: systemClock, stations: CORE_STATIONS, topics });
      cleanup.push(() => central.central.stop());
      const registry = new MemoryDeviceRegistry();
      registry.add({ device_id: 'pi-arm64', site: 'waco', enabled: true, secret_hash: await hashSecret('pw') });
      const gateway = buildGateway({ mqtt_host: '127.0.0.1', mqtt_port: 0, topic_prefix: topics.prefix }, { log: env.log, registry, clock: systemClock, logger: pino({ level: 'silent' }), metrics: new Registry() });
      await gateway.start();
      cleanup.push(() => gateway.stop());

      const dir = mkdtempSync(join(tmpdir(), 'wacoflow-arm64-agent-'));
      writeFileSync(join(dir, 'agent.yaml'), [
        'device_id: pi-arm64', 'site: waco', `mqtt_url: ${gateway.url()}`, 'mqtt_password: pw', `data_dir: ${dir}`,
        'bin_ms: 20000', 'close_delay_ms: 10000', 'heartbeat_interval_ms: 5000',
        'inputs:',
        '  - driver: ss105-serial', '    name: lp340-radar', `    line: { path: ${pty.a}, baud_rate: 9600 }`,
        `    drops: [{ drop: 1, station_id: ${station.station_id} }]`, '    interval_ms: 20000', '    poll_interval_ms: 5000',
      ].join('\n'));
      const [cmd, argv] = qemuArgs(['--config', join(dir, 'agent.yaml'), '--log-level', 'warn']);
      const agent = spawn(cmd, argv, { stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      agent.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
      cleanup.push(async () => {
        agent.kill('SIGTERM');
        await new Promise((r) => agent.once('exit', r));
      });

      const deadline = Date.now() + 150_000;
      let windows: Awaited<ReturnType<typeof central.store.windowsOf>> = [];
      while (Date.now() < deadline && agent.exitCode === null) {
        windows = await central.store.windowsOf('station', station.station_id, 0, Date.now() + 3_600_000);
        if (windows.some((w) => (w.measures.volume ?? 0) > 0)) break;
        await new Promise((r) => setTimeout(r, 1_000));
      }
      expect(agent.exitCode, stderr).toBeNull();
      expect(sensor.answered()).toBeGreaterThan(0);
      const w = windows.find((x) => (x.measures.volume ?? 0) > 0);
      expect(w, `no stored window with traffic for ${station.station_id}; agent said:\n${stderr}`).toBeDefined();
      expect(w!.measures.samples_seen).toBeGreaterThan(0);
    }, 200_000);
  });
});
