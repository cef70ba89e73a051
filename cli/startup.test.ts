/**
 * Start-up order does not matter: `wacoflow central` and `wacoflow gateway`, started while PostgreSQL and
 * Kafka are unreachable, wait for them (saying so) and deliver once they come; a database that refuses the
 * connection fails at once, naming the setting. The services are made unreachable with gates: a port that
 * refuses connections until the test opens it and forwards it to the real server.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import mqtt from 'mqtt';
import { describe, expect, it } from 'vitest';
import { withSchema } from '../central/store/test-schema.ts';
import { ownTopics } from '../central/testing.ts';
import { expecting, mqttTopic, type Bin } from '../protocol/index.ts';
import { CORE_STATIONS } from '../simulators/waco/core.ts';
import { freePort } from '../test/ports.ts';
import { serviceAddress } from '../test/services.ts';

const run = promisify(execFile);
const BIN = join(import.meta.dirname, '..', 'bin', 'wacoflow.js');
const brokers = serviceAddress('WACOFLOW_KAFKA_BROKERS');
const database = serviceAddress('WACOFLOW_DATABASE_URL');

/** A port that refuses connections until `open()`, then forwards each one to `target`. */
async function gate(target: string): Promise<{ port: number; open(): Promise<void>; close(): Promise<void> }> {
  const [host, port] = [target.slice(0, target.lastIndexOf(':')), Number(target.slice(target.lastIndexOf(':') + 1))];
  const listenOn = await freePort();
  const sockets = new Set<Socket>();
  let server: Server | null = null;
  return {
    port: listenOn,
    open: () =>
      new Promise((resolve) => {
        server = createServer((inbound) => {
          const outbound = createConnection({ host, port });
          for (const s of [inbound, outbound]) {
            sockets.add(s);
            s.on('error', () => {}).on('close', () => sockets.delete(s));
          }
          inbound.pipe(outbound).pipe(inbound);
        }).listen(listenOn, '127.0.0.1', () => resolve());
      }),
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    },
  };
}

function start(args: string[]): { child: ChildProcess; logs: () => string; exited: Promise<number | null> } {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  let logs = '';
  child.stderr!.on('data', (d: Buffer) => (logs += d.toString()));
  return { child, logs: () => logs, exited: new Promise((r) => child.on('exit', (c) => r(c))) };
}

async function until(what: string, ok: () => boolean | Promise<boolean>, timeout_ms: number): Promise<void> {
  const deadline = Date.now() + timeout_ms;
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe.skipIf(!brokers || !database)('start-up before PostgreSQL and Kafka', () => {
  it('central and the gateway wait for them, say so, and deliver once they come', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wf-startup-'));
    const schema = withSchema(database!);
    const url = new URL(await schema.url());
    const pg = await gate(`${url.hostname}:${url.port || 5432}`);
    const kafka = await gate(brokers!.split(',')[0]!);
    url.hostname = '127.0.0.1';
    url.port = String(pg.port);
    const topics = ownTopics();
    const [httpPort, mqttPort] = [await freePort(), await freePort()];
    const station = CORE_STATIONS[0]!;
    const device = `agent-${randomUUID().slice(0, 8)}`;
    const registry = join(dir, 'devices.json');
    const added = await run(process.execPath, [BIN, 'devices', 'add', device, '--site', 'waco', '--registry', registry]);
    const secret = /: (\S+)\n$/.exec(added.stdout)![1]!;
    writeFileSync(join(dir, 'inventory.yaml'), ['stations:', `  - ${JSON.stringify(station)}`].join('\n'));
    const common = ['kafka_brokers:', `  - 127.0.0.1:${kafka.port}`, `topic_prefix: ${topics.prefix}`, 'startup_wait_s: 120'];
    writeFileSync(join(dir, 'central.yaml'), [...common, `database_url: "${url.toString()}"`, 'inventory_file: inventory.yaml', `http_port: ${httpPort}`, `group_id: central-${topics.prefix}`].join('\n'));
    writeFileSync(join(dir, 'gateway.yaml'), [...common, 'mqtt_host: 127.0.0.1', `mqtt_port: ${mqttPort}`, `registry_file: ${registry}`].join('\n'));

    const central = start(['central', '--config', join(dir, 'central.yaml')]);
    const gateway = start(['gateway', '--config', join(dir, 'gateway.yaml')]);
    try {
      await until('central to wait for PostgreSQL', () => central.logs().includes('waiting for PostgreSQL'), 30_000);
      await until('the gateway to wait for Kafka', () => gateway.logs().includes('waiting for Kafka'), 30_000);
      await pg.open();
      await until('central to wait for Kafka', () => central.logs().includes('waiting for Kafka'), 30_000);
      expect(central.child.exitCode).toBeNull();
      expect(gateway.child.exitCode).toBeNull();
      await kafka.open();
      await until('both to be ready', () => central.logs().includes('central ready') && gateway.logs().includes('gateway ready'), 60_000);
      expect(central.logs()).toContain('PostgreSQL is reachable');
      expect(gateway.logs()).toContain('Kafka is reachable');
      // A normal start after the wait warns of nothing else: no partitioner notice, no client noise.
      const warnings = (logs: string) => logs.split('\n').filter((l) => /"level":[45]0/.test(l) && !l.includes('waiting for '));
      expect(warnings(central.logs())).toEqual([]);
      expect(warnings(gateway.logs())).toEqual([]);

      // The pipeline delivers: a bin published to the gateway lands in central's window.
      const bin_start_ms = Math.floor(Date.now() / 60_000) * 60_000;
      const bin: Bin = {
        device_id: device, seq: 1, detector_id: `${station.station_id}-l1`, station_id: station.station_id, bin_start_ms, bin_ms: 60_000,
        clock: { synced: true, offset_ms: 0 }, measures: { ...expecting(3), volume: 17, samples_seen: 3 },
      };
      const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${mqttPort}`, { clientId: device, username: device, password: secret, reconnectPeriod: 0 });
      await client.publishAsync(mqttTopic('waco', device, 'bins'), Buffer.from(JSON.stringify({ v: 1, device_id: device, sent_ms: Date.now(), bins: [bin] })), { qos: 1 });
      await client.endAsync();
      await until(
        'the bin in central’s window',
        async () => {
          const body = (await (await fetch(`http://127.0.0.1:${httpPort}/api/stations`)).json()) as { stations: { current: { volume: number | null } | null }[] };
          return body.stations[0]?.current?.volume === 17;
        },
        60_000,
      );

      central.child.kill('SIGTERM');
      gateway.child.kill('SIGTERM');
      expect(await central.exited).toBe(0);
      expect(await gateway.exited).toBe(0);
    } finally {
      central.child.kill('SIGKILL');
      gateway.child.kill('SIGKILL');
      await pg.close();
      await kafka.close();
      await schema.drop();
    }
  }, 180_000);

  it('fails at once, naming the setting, when PostgreSQL refuses the connection', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wf-startup-'));
    const url = new URL(database!);
    url.pathname = `/wacoflow_missing_${randomUUID().slice(0, 8)}`;
    writeFileSync(join(dir, 'inventory.yaml'), ['stations:', `  - ${JSON.stringify(CORE_STATIONS[0])}`].join('\n'));
    writeFileSync(join(dir, 'central.yaml'), ['kafka_brokers:', `  - ${brokers!.split(',')[0]}`, `database_url: "${url.toString()}"`, 'inventory_file: inventory.yaml', 'http_port: 0', 'startup_wait_s: 120'].join('\n'));
    const began = Date.now();
    const central = start(['central', '--config', join(dir, 'central.yaml')]);
    expect(await central.exited).toBe(2);
    expect(Date.now() - began).toBeLessThan(15_000); // the process's own start-up, not the 120 s wait
    expect(central.logs()).toMatch(/configuration error: database_url: PostgreSQL at .* refused the connection: database "wacoflow_missing_\w+" does not exist \(SQLSTATE 3D000\)/);
    expect(central.logs()).not.toContain('waiting for');
  }, 60_000);
});
