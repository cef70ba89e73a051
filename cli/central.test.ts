/**
 * `wacoflow central` as its own process: its sample files load, a bad inventory is reported line by line, and
 * on real Kafka and PostgreSQL it turns bins into windows served over HTTP and stops cleanly on SIGTERM.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CentralFileConfigSchema } from '../central/file-config.ts';
import { loadInventory } from '../central/inventory.ts';
import { withSchema } from '../central/store/test-schema.ts';
import { ownTopics, produceBins } from '../central/testing.ts';
import { loadConfigFile } from '../platform/config-file.ts';
import { KafkaLog } from '../platform/log/kafka-log.ts';
import { expecting, type Bin } from '../protocol/index.ts';
import { CORE_STATIONS } from '../simulators/waco/core.ts';
import { serviceAddress } from '../test/services.ts';
import { freePort } from '../test/ports.ts';

const BIN = join(import.meta.dirname, '..', 'bin', 'wacoflow.js');
const SAMPLE = join(import.meta.dirname, '..', 'central', 'sample.yaml');

describe('central/sample.yaml and its inventory', () => {
  it('load, with one detector per lane of every Waco station', () => {
    const config = loadConfigFile(SAMPLE, CentralFileConfigSchema);
    expect(config).toMatchObject({ kafka_brokers: ['127.0.0.1:9092'], grace_ms: 60_000, http_port: 8080 });
    const inventory = loadInventory(join(import.meta.dirname, '..', 'central', config.inventory_file));
    expect(inventory.stations.map((s) => s.station_id)).toEqual(CORE_STATIONS.map((s) => s.station_id));
    expect(inventory.detectors).toHaveLength(CORE_STATIONS.reduce((n, s) => n + s.lanes, 0));
  });

  it('reports every inventory mistake with the file and the field', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'wf-inv-')), 'inventory.yaml');
    const station = (id: string, extra = '') => `  - { station_id: ${id}, name: A, kind: freeway, corridor_id: null, lat: 31.5, lon: -97.1, lanes: 2, free_flow_kmh: 110${extra} }`;
    writeFileSync(file, ['stations:', station('s1'), station('s1'), station('s2', ', detectors: [s1-l1]')].join('\n'));
    expect(() => loadInventory(file)).toThrow(`${file}: stations.1.station_id: s1 is listed twice\n${file}: detector s1-l1 is listed under s1 and s2`);
    writeFileSync(file, ['stations:', '  - { station_id: s1, name: A, kind: ramp, lat: 31.5, lon: -97.1, lanes: 2, free_flow_kmh: 110 }'].join('\n'));
    expect(() => loadInventory(file)).toThrow(/stations\.0\.kind: .*\n.*stations\.0\.corridor_id: /);
  });
});

const brokers = serviceAddress('WACOFLOW_KAFKA_BROKERS');
const database = serviceAddress('WACOFLOW_DATABASE_URL');

describe.skipIf(!brokers || !database)('wacoflow central on Kafka and PostgreSQL', () => {
  it('turns bins from Kafka into windows served over HTTP, and stops cleanly on SIGTERM', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wf-central-'));
    const schema = withSchema(database!);
    const topics = ownTopics();
    const port = await freePort();
    const station = CORE_STATIONS[0]!;
    writeFileSync(join(dir, 'inventory.yaml'), ['stations:', `  - ${JSON.stringify(station)}`].join('\n'));
    writeFileSync(join(dir, 'central.yaml'), [
      'kafka_brokers:', ...brokers!.split(',').map((b) => `  - ${b}`), `database_url: "${await schema.url()}"`, 'inventory_file: inventory.yaml',
      `topic_prefix: ${topics.prefix}`, `http_port: ${port}`, `group_id: central-${topics.prefix}`,
    ].join('\n'));
    const child = spawn(process.execPath, [BIN, 'central', '--config', join(dir, 'central.yaml')], { stdio: ['ignore', 'ignore', 'pipe'] });
    let logs = '';
    child.stderr.on('data', (d: Buffer) => (logs += d.toString()));
    const exited = new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
    const log = new KafkaLog({ brokers: brokers!.split(','), client_id: 'central-cli-test' });
    try {
      const deadline = Date.now() + 60_000;
      while (!logs.includes('central ready') && child.exitCode === null && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      expect(logs, logs).toContain('central ready');

      // Five minute bins of one detector in the current window: 1 + 2 + … + 5 vehicles.
      const start = Math.floor(Date.now() / 300_000) * 300_000;
      const bins: Bin[] = Array.from({ length: 5 }, (_, i) => ({
        device_id: `agent-${topics.prefix}`, seq: i + 1, detector_id: `${station.station_id}-l1`, station_id: station.station_id,
        bin_start_ms: start + i * 60_000, bin_ms: 60_000, clock: { synced: true, offset_ms: 0 }, measures: { ...expecting(3), volume: i + 1, samples_seen: 3 },
      }));
      await produceBins(log, topics.bins, bins);
      type Current = { volume: number | null; window_start_ms: number } | null;
      let current: Current = null;
      while (Date.now() < deadline) {
        const body = (await (await fetch(`http://127.0.0.1:${port}/api/stations`)).json()) as { stations: { current: Current }[] };
        current = body.stations[0]?.current ?? null;
        if (current?.volume === 15) break;
        await new Promise((r) => setTimeout(r, 200));
      }
      expect(current).toMatchObject({ volume: 15, window_start_ms: start });
      expect(await (await fetch(`http://127.0.0.1:${port}/api/health`)).json()).toMatchObject({ status: 'ok', checks: { log: 'kafka', store: 'postgres' } });
      // The probes a Kubernetes pod uses (deploy/kubernetes), on real Kafka and PostgreSQL.
      for (const probe of ['/livez', '/readyz']) {
        const res = await fetch(`http://127.0.0.1:${port}${probe}`);
        expect({ probe, status: res.status, body: await res.json() }).toMatchObject({ probe, status: 200, body: { status: 'ok' } });
      }

      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(logs).toContain('central stopped');
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      await log.close();
      await schema.drop();
    }
  }, 90_000);
});
