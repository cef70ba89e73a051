/**
 * The agent script of the bundle a board runs (`wacoflow build-agent`): built into a temporary folder and started
 * through its own first line, the way `./wacoflow-agent.mjs --config FILE` starts it on a board, so the V8 flags
 * written there are accepted by Node. The build leaves zod's other languages out: its messages must still be
 * the English ones, naming the field. It also swaps mqtt.js's copy of Node's streams for Node's own and leaves out
 * transports the agent cannot be configured to use: the bundle must still poll a feed and deliver bins and
 * heartbeats to a gateway.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { binsIn, decode, KAFKA_TOPICS, type Station } from '../protocol/index.ts';
import { systemClock } from '../platform/clock.ts';
import { buildFeedServer } from '../simulators/tmdd-feed/server.ts';
import { TrafficModel } from '../simulators/traffic-model.ts';
import { localGateway } from '../test/local-gateway.ts';
import { buildAgentScript } from '../hardware/bundle/agent-script.ts';

const run = promisify(execFile);

describe('agent bundle', () => {
  const dir = mkdtempSync(join(tmpdir(), 'wacoflow-bundle-'));
  const bundle = join(dir, 'wacoflow-agent.mjs');
  beforeAll(async () => {
    await buildAgentScript(dir, process.arch === 'arm64' ? 'arm64' : 'x64');
  }, 120_000);

  it('starts through its first line and reports a bad configuration in English, field by field', async () => {
    const config = join(dir, 'agent.yaml');
    writeFileSync(config, ['device_id: a', 'site: waco', 'mqtt_url: mqtt://127.0.0.1:9', 'mqtt_password: x', 'bin_ms: 7', 'inputs: []'].join('\n'));
    // Executed directly: the kernel reads `#!/usr/bin/env -S node <flags>`; Node must accept those flags.
    const r = await run(bundle, ['check', '--config', config], { env: { ...process.env, PATH: `${join(process.execPath, '..')}:${process.env.PATH}` } }).then(
      () => null,
      (e: { code: number; stderr: string }) => e,
    );
    expect(r?.code).toBe(2);
    expect(r?.stderr).toContain(`${config}: bin_ms: Too small: expected number to be >=20000`);
    expect(r?.stderr).toContain(`${config}: inputs: configure at least one input`);
  }, 60_000);

  it("leaves out mqtt.js's WebSocket and SOCKS transports, with an error that names them if one is reached", () => {
    const text = readFileSync(bundle, 'utf8');
    expect(text).toContain('the agent bundle has no MQTT ws transport; use mqtt:// or mqtts://');
    expect(text).toContain('the agent bundle has no MQTT socks transport; use mqtt:// or mqtts://');
  });

  it('is plain ASCII, which V8 keeps at one byte per character', () => {
    const text = readFileSync(bundle);
    expect(text.subarray(0, 2).toString()).toBe('#!');
    expect(text.findIndex((byte) => byte > 0x7f)).toBe(-1);
  });

  it('runs as an agent: polls a feed and delivers bins and heartbeats through a gateway', async () => {
    const stations: Station[] = [{ station_id: 'st-1', name: 'one', kind: 'freeway', corridor_id: null, lat: 31.5, lon: -97.1, lanes: 2, free_flow_kmh: 113 }];
    const feed = buildFeedServer({ feeds: [{ feed_id: 'f', organization_id: 'o', station_ids: ['st-1'] }], stations, model: new TrafficModel('bundle'), clock: systemClock, interval_ms: 20_000, history_intervals: 3, time_zone: 'America/Chicago', host: '127.0.0.1', port: 0 });
    await feed.start();
    const { gateway, log } = await localGateway([{ device_id: 'bundled', secret: 'pw' }]);
    const config = join(dir, 'run.yaml');
    writeFileSync(config, [
      'device_id: bundled', 'site: waco', `mqtt_url: ${gateway.url()}`, 'mqtt_password: pw', `data_dir: ${dir}`,
      'bin_ms: 20000', 'close_delay_ms: 3000', 'heartbeat_interval_ms: 1000', 'inputs:',
      '  - driver: tmdd-http', '    name: f', `    url: ${feed.feedUrl('f')}/detectorDataMsg`, '    poll_interval_ms: 2000',
    ].join('\n'));
    const agent = spawn(bundle, ['--config', config, '--log-level', 'warn'], { env: { ...process.env, PATH: `${join(process.execPath, '..')}:${process.env.PATH}` }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    agent.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const bins: string[] = [];
    const heartbeats: number[] = [];
    const consumer = log.consumer('bundle-test');
    await consumer.run({
      topics: [KAFKA_TOPICS.bins, KAFKA_TOPICS.health],
      eachBatch: async (b) => {
        for (const r of b.records) {
          if (b.topic === KAFKA_TOPICS.bins) bins.push(...binsIn(r).map((bin) => bin.detector_id));
          else if (r.headers?.type === 'heartbeat') heartbeats.push(decode('heartbeat', r.value).outbox.depth);
        }
      },
    });
    try {
      // The first bin is sealed at its 20 s boundary plus the close delay: within 25 s of the start.
      const deadline = Date.now() + 60_000;
      while ((bins.length === 0 || heartbeats.length < 2) && Date.now() < deadline && agent.exitCode === null) await new Promise((r) => setTimeout(r, 100));
      expect(agent.exitCode, stderr).toBeNull();
      expect(bins.length).toBeGreaterThanOrEqual(2); // one bin per lane
      expect(heartbeats.length).toBeGreaterThanOrEqual(2);
    } finally {
      agent.kill('SIGTERM');
      await consumer.stop();
      await gateway.stop();
      await feed.stop();
    }
  }, 90_000);
});
