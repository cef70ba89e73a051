/** `wacoflow agent check` and the agent's sample config, as a technician uses them. */
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { AgentFileConfigSchema } from '../edge-agent/config.ts';
import { systemClock } from '../platform/clock.ts';
import { buildFeedServer } from '../simulators/tmdd-feed/server.ts';
import { TrafficModel } from '../simulators/traffic-model.ts';
import { detectorIds, CORE_FEEDS, CORE_STATIONS } from '../simulators/waco/core.ts';
import { loadConfigFile } from '../platform/config-file.ts';

const run = promisify(execFile);
const BIN = join(import.meta.dirname, '..', 'bin', 'wacoflow.js');

describe('wacoflow agent', () => {
  it('ships a sample config that loads', () => {
    const c = loadConfigFile(join(import.meta.dirname, '..', 'edge-agent', 'sample.yaml'), AgentFileConfigSchema);
    expect(c).toMatchObject({ device_id: 'agent-i35-north', outbox: { fsync: 'group' }, inputs: [{ driver: 'tmdd-http', missing_count: 'no_data' }] });
  });

  it('check: reads every input once and prints a row per detector', async () => {
    const feed = buildFeedServer({
      feeds: CORE_FEEDS, stations: CORE_STATIONS, model: new TrafficModel('check'), clock: systemClock, interval_ms: 20_000,
      history_intervals: 3, time_zone: 'America/Chicago', host: '127.0.0.1', port: 0,
    });
    await feed.start();
    try {
      const file = join(mkdtempSync(join(tmpdir(), 'wacoflow-agent-')), 'agent.yaml');
      writeFileSync(
        file,
        [
          'device_id: agent-check', 'site: waco', 'mqtt_url: mqtt://127.0.0.1:9', 'mqtt_password: x', 'inputs:',
          '  - driver: tmdd-http', '    name: signals', `    url: ${feed.feedUrl('waco-signals')}/detectorDataMsg`,
          '  - driver: tmdd-http', '    name: broken', `    url: ${feed.feedUrl('no-such-feed')}/detectorDataMsg`,
        ].join('\n'),
      );
      const r = await run(process.execPath, [BIN, 'agent', 'check', '--config', file]).catch((e: { code: number; stdout: string }) => e);
      const out = (r as { stdout: string }).stdout;
      expect((r as { code?: number }).code).toBe(1); // one input is broken
      expect(out).toContain('configuration valid — device agent-check');
      expect(out).toMatch(/uplink mqtt:\/\/127\.0\.0\.1:9: not reachable/);
      const signals = CORE_STATIONS.filter((s) => s.kind === 'intersection').flatMap(detectorIds);
      for (const d of signals) expect(out).toMatch(new RegExp(`^signals\\s+${d}\\s+`, 'm'));
      expect(out).toContain('broken: FAILED: GET');
      expect(out).toContain('HTTP 404');
    } finally {
      await feed.stop();
    }
  });

  it('names the file and every bad field at once', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'wacoflow-agent-')), 'bad.yaml');
    writeFileSync(file, 'device_id: "bad id"\nsite: waco\nmqtt_url: http://x\nmqtt_password: x\ninputs:\n  - driver: tmdd-http\n    name: a\n    url: ftp://x\n    speed_unit: knots\n');
    const r = (await run(process.execPath, [BIN, 'agent', 'check', '-c', file]).catch((e: unknown) => e)) as { code: number; stderr: string };
    expect(r.code).toBe(2);
    const lines = r.stderr.trim().split('\n');
    for (const field of ['device_id', 'mqtt_url', 'inputs.0.url', 'inputs.0.speed_unit']) {
      expect(lines.some((l) => l.startsWith(`wacoflow: configuration error: ${file}: ${field}: `))).toBe(true);
    }
  });
});

describe('wacoflow agent as a process', () => {
  it('connects with its own credentials, reports online and heartbeats, serves /metrics, and stops on SIGTERM', async () => {
    const { spawn } = await import('node:child_process');
    const pino = (await import('pino')).default;
    const { Registry } = await import('prom-client');
    const { MemoryLog } = await import('../platform/log/memory-log.ts');
    const { buildGateway } = await import('../gateway/app.ts');
    const { hashSecret, MemoryDeviceRegistry } = await import('../gateway/registry/devices.ts');
    const { decode, KAFKA_TOPICS } = await import('../protocol/index.ts');

    const log = new MemoryLog();
    await log.ensureTopics(Object.values(KAFKA_TOPICS).map((name) => ({ name, partitions: 1 })));
    const registry = new MemoryDeviceRegistry();
    registry.add({ device_id: 'agent-proc', site: 'waco', enabled: true, secret_hash: await hashSecret('s3cret') });
    const gateway = buildGateway({ mqtt_host: '127.0.0.1', mqtt_port: 0 }, { log, registry, clock: systemClock, logger: pino({ level: 'silent' }), metrics: new Registry() });
    await gateway.start();
    const dir = mkdtempSync(join(tmpdir(), 'wacoflow-agent-'));
    writeFileSync(join(dir, 'secret'), 's3cret\n');
    const file = join(dir, 'agent.yaml');
    writeFileSync(file, [
      'device_id: agent-proc', 'site: waco', `mqtt_url: ${gateway.url()}`, `mqtt_password_file: ${join(dir, 'secret')}`, `data_dir: ${join(dir, 'data')}`,
      'heartbeat_interval_ms: 1000', 'metrics_port: 0', 'inputs:', '  - driver: tmdd-http', '    name: feed', '    url: http://127.0.0.1:9/detectorDataMsg',
    ].join('\n'));
    const child = spawn(process.execPath, [BIN, 'agent', '--config', file], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    const health: { type: string; value: unknown }[] = [];
    const consumer = log.consumer('t');
    await consumer.run({
      topics: [KAFKA_TOPICS.health],
      eachBatch: async (b) => {
        for (const r of b.records) health.push({ type: r.headers.type!, value: r.headers.type === 'status' ? decode('status', r.value) : decode('heartbeat', r.value) });
      },
    });
    try {
      const deadline = Date.now() + 20_000;
      while (!(health.some((h) => h.type === 'status') && health.some((h) => h.type === 'heartbeat')) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      expect(health.find((h) => h.type === 'status')?.value).toMatchObject({ device_id: 'agent-proc', state: 'online' });
      const hb = health.find((h) => h.type === 'heartbeat')!.value as { inputs: { name: string; state: string }[]; config_hash: string };
      expect(hb.config_hash).toMatch(/^sha256:[0-9a-f]{16}$/);
      expect(hb.inputs[0]).toMatchObject({ name: 'feed' }); // the feed is down: the input says so, the agent keeps going
      const url = /"metrics":"(http:\/\/127\.0\.0\.1:\d+\/metrics)"/.exec(stderr)?.[1];
      expect(url, stderr).toBeDefined();
      const metrics = await (await fetch(url!)).text();
      expect(metrics).toMatch(/^wacoflow_agent_uplink_connected 1$/m);
      expect(metrics).toMatch(/^wacoflow_agent_outbox_writable 1$/m);
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      await new Promise((r) => setTimeout(r, 300));
      expect(health.filter((h) => h.type === 'status').at(-1)?.value).toMatchObject({ state: 'offline' });
    } finally {
      child.kill('SIGKILL');
      await consumer.stop();
      await gateway.stop();
    }
  }, 40_000);
});
