/**
 * The acknowledgement chain on real Kafka with the gateway killed: an agent sends 2,000 bins while the gateway
 * process is SIGKILLed and restarted eight times. Every bin the agent saw acknowledged must be readable from
 * Kafka, and in the end all of them are there; a resent bin carries the same (device_id, seq).
 * Needs WACOFLOW_KAFKA_BROKERS.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { expecting, type Bin } from '../protocol/index.ts';
import { systemClock } from '../platform/clock.ts';
import { KafkaLog } from '../platform/log/kafka-log.ts';
import { buildAgent } from '../edge-agent/app.ts';
import { AgentConfigSchema } from '../edge-agent/config.ts';
import { MemoryOutbox } from '../edge-agent/outbox/memory-outbox.ts';
import { MemorySeqSource } from '../edge-agent/outbox/seq-file.ts';
import { QUIET_PROBE, receiveBins } from '../test/agent-helpers.ts';
import { serviceAddress } from '../test/services.ts';
import { freePort } from '../test/ports.ts';

const run = promisify(execFile);
const BIN = join(import.meta.dirname, '..', 'bin', 'wacoflow.js');
const brokers = serviceAddress('WACOFLOW_KAFKA_BROKERS');
const BINS = 2_000;
const KILLS = 8;


describe.skipIf(!brokers)('gateway killed mid-stream, on real Kafka', () => {
  it(`never acknowledges a bin Kafka does not have, and loses none over ${KILLS} SIGKILLs`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wacoflow-gwkill-'));
    const device = `agent-${randomUUID().slice(0, 8)}`;
    const registry = join(dir, 'devices.json');
    const secret = /: (\S+)\n$/.exec((await run(process.execPath, [BIN, 'devices', 'add', device, '--site', 'waco', '--registry', registry])).stdout)![1]!;
    const port = await freePort();
    writeFileSync(join(dir, 'gateway.yaml'), [`mqtt_host: 127.0.0.1`, `mqtt_port: ${port}`, `registry_file: ${registry}`, 'kafka_brokers:', ...brokers!.split(',').map((b) => `  - ${b}`)].join('\n'));
    const startGateway = async (): Promise<ChildProcess> => {
      const gw = spawn(process.execPath, [BIN, 'gateway', '--config', join(dir, 'gateway.yaml')], { stdio: ['ignore', 'ignore', 'pipe'] });
      let logs = '';
      gw.stderr!.on('data', (d: Buffer) => (logs += d.toString()));
      const deadline = Date.now() + 30_000;
      while (!logs.includes('gateway ready')) {
        if (Date.now() > deadline || gw.exitCode !== null) throw new Error(`gateway did not start: ${logs}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      return gw;
    };

    // An agent with 2,000 bins waiting, and a record of every bin it saw acknowledged.
    const outbox = new MemoryOutbox(new MemorySeqSource(0));
    const T0 = Date.UTC(2026, 10, 24, 23, 0, 0);
    await outbox.append(
      Array.from({ length: BINS }, (_, i) => ({ detector_id: `d${i % 20}`, station_id: `s${i % 5}`, bin_start_ms: T0 + Math.floor(i / 20) * 60_000, bin_ms: 60_000, measures: { ...expecting(3), volume: i % 50 } })),
      { device_id: device, clock: { synced: true, offset_ms: 0 } },
    );
    const acked = new Set<number>();
    const accept = outbox.accept.bind(outbox);
    outbox.accept = async (batch: Bin[]) => {
      for (const b of batch) acked.add(b.seq);
      return accept(batch);
    };
    const agent = buildAgent(
      AgentConfigSchema.parse({
        device_id: device, site: 'waco', mqtt_url: `mqtt://127.0.0.1:${port}`, mqtt_password: secret, reconnect_ms: 200, ack_timeout_ms: 3_000,
        max_bins_per_message: 50, backlog_bins_per_s: 400, inputs: [{ driver: 'tmdd-http', name: 'none', url: 'http://127.0.0.1:9/x' }],
      }),
      { clock: systemClock, logger: pino({ level: 'silent' }), outbox, version: 'test', config_hash: 'test', clockState: () => ({ synced: true, offset_ms: 0 }), probe: QUIET_PROBE },
    );

    const log = new KafkaLog({ brokers: brokers!.split(','), client_id: 'gateway-kill-test' });
    let gw = await startGateway();
    agent.start();
    try {
      for (let k = 0; k < KILLS; k++) {
        await new Promise((r) => setTimeout(r, 300 + Math.floor(Math.random() * 700)));
        gw.kill('SIGKILL');
        await new Promise((r) => gw.once('exit', r));
        gw = await startGateway();
      }
      const deadline = Date.now() + 60_000;
      while (outbox.stats(Date.now()).depth > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      expect(outbox.stats(Date.now()).depth).toBe(0);

      // Read everything this device put in Kafka.
      const { bins: inKafka, stop: stopReceiving } = await receiveBins(log, `gateway-kill-${randomUUID()}`, (bin) => bin.device_id === device);
      while (inKafka.size < BINS && Date.now() < deadline + 60_000) await new Promise((r) => setTimeout(r, 200));
      await stopReceiving();
      const missingAcked = [...acked].filter((q) => !inKafka.has(q));
      expect(missingAcked).toEqual([]);
      expect(inKafka.size).toBe(BINS);
    } finally {
      await agent.stop();
      gw.kill('SIGKILL');
      await log.close();
    }
  }, 240_000);
});
