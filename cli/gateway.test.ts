/**
 * The gateway as its own process, on real Kafka: devices managed with `wacoflow devices`, a heartbeat
 * acknowledged only once Kafka has it, and a disabled device thrown out. Needs WACOFLOW_KAFKA_BROKERS.
 */
import { execFile, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import mqtt from 'mqtt';
import { describe, expect, it } from 'vitest';
import { decode, KAFKA_TOPICS, mqttTopic } from '../protocol/index.ts';
import { KafkaLog } from '../platform/log/kafka-log.ts';
import { serviceAddress } from '../test/services.ts';
import { freePort } from '../test/ports.ts';

const run = promisify(execFile);
const BIN = join(import.meta.dirname, '..', 'bin', 'wacoflow.js');
const brokers = serviceAddress('WACOFLOW_KAFKA_BROKERS');

describe.skipIf(!brokers)('wacoflow gateway and wacoflow devices', () => {
  it('lets a registered device in, puts its heartbeat in Kafka before the PUBACK, and throws it out when disabled', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wacoflow-gw-'));
    const registry = join(dir, 'devices.json');
    const device = `agent-${randomUUID().slice(0, 8)}`;
    const added = await run(process.execPath, [BIN, 'devices', 'add', device, '--site', 'waco', '--registry', registry]);
    const secret = /: (\S+)\n$/.exec(added.stdout)![1]!;
    expect(readFileSync(registry, 'utf8')).not.toContain(secret); // only the hash is stored

    const port = await freePort();
    const metricsPort = await freePort();
    writeFileSync(join(dir, 'gateway.yaml'), [`mqtt_host: 127.0.0.1`, `mqtt_port: ${port}`, `metrics_port: ${metricsPort}`, `registry_file: ${registry}`, 'registry_check_ms: 200', 'kafka_brokers:', ...brokers!.split(',').map((b) => `  - ${b}`)].join('\n'));
    const gw = spawn(process.execPath, [BIN, 'gateway', '--config', join(dir, 'gateway.yaml')], { stdio: ['ignore', 'ignore', 'pipe'] });
    let logs = '';
    gw.stderr.on('data', (d: Buffer) => (logs += d.toString()));
    const exited = new Promise<number | null>((r) => gw.on('exit', (c) => r(c)));
    const log = new KafkaLog({ brokers: brokers!.split(','), client_id: 'gateway-test' });
    try {
      const deadline = Date.now() + 30_000;
      while (!logs.includes('gateway ready') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      expect(logs, logs).toContain('gateway ready');
      // The probes a Kubernetes pod uses (deploy/kubernetes): listening, and Kafka connected.
      const probe = async (path: string) => {
        const res = await fetch(`http://127.0.0.1:${metricsPort}${path}`);
        return { status: res.status, body: await res.json() };
      };
      expect(await probe('/livez')).toEqual({ status: 200, body: { status: 'ok', checks: { listener: 'accepting' } } });
      expect(await probe('/readyz')).toEqual({ status: 200, body: { status: 'ok', checks: { listener: 'accepting', kafka: 'connected' } } });

      const seen: unknown[] = [];
      const consumer = log.consumer(`gateway-test-${randomUUID()}`);
      await consumer.run({
        topics: [KAFKA_TOPICS.health],
        eachBatch: async (b) => {
          for (const r of b.records) if (r.key === device) seen.push(decode('heartbeat', r.value));
        },
      });

      const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { clientId: device, username: device, password: secret, reconnectPeriod: 0 });
      const hb = JSON.parse(readFileSync(join(import.meta.dirname, '..', 'protocol', 'fixtures', 'valid', 'heartbeat.json'), 'utf8'));
      await client.publishAsync(mqttTopic('waco', device, 'health'), Buffer.from(JSON.stringify({ ...hb, device_id: device })), { qos: 1 });
      while (seen.length === 0 && Date.now() < deadline + 30_000) await new Promise((r) => setTimeout(r, 100));
      expect(seen[0]).toMatchObject({ device_id: device, outbox: { depth: 0 } });

      const closed = new Promise<void>((r) => client.once('close', () => r()));
      await run(process.execPath, [BIN, 'devices', 'disable', device, '--registry', registry]);
      await closed; // thrown out within registry_check_ms
      await expect(mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { clientId: device, username: device, password: secret, reconnectPeriod: 0 })).rejects.toThrow(/Not authorized|Connection refused/);
      await consumer.stop();
      gw.kill('SIGTERM');
      expect(await exited).toBe(0);
    } finally {
      gw.kill('SIGKILL');
      await log.close();
    }
  }, 120_000);
});
