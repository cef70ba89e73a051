/**
 * `wacoflow loadtest` at a small scale, as a user runs it: real MQTT connections with their own credentials
 * against the embedded system; every acknowledged bin is found in central's windows, every bin's latency is
 * measured, and the figures are printed as a table and written as JSON.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { withSchema } from '../central/store/test-schema.ts';
import type { LoadtestResult } from './loadtest.ts';
import { percentile } from './loadtest.ts';

const BIN = fileURLToPath(new URL('../bin/wacoflow.js', import.meta.url));
// The embedded system on its own: not the CI's shared Kafka and PostgreSQL.
const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !['WACOFLOW_KAFKA_BROKERS', 'WACOFLOW_DATABASE_URL'].includes(k)));

describe('wacoflow loadtest', () => {
  it('drives many agents, finds every acknowledged bin in the windows, and reports the figures', () => {
    const json = join(mkdtempSync(join(tmpdir(), 'wacoflow-loadtest-')), 'result.json');
    const r = spawnSync(process.execPath, [BIN, 'loadtest', '--agents', '12', '--rate', '120', '--duration', '6', '--detectors-per-agent', '10', '--json', json], { encoding: 'utf8', env, timeout: 120_000 });
    expect(r.status, r.stdout + r.stderr).toBe(0);
    const result = JSON.parse(readFileSync(json, 'utf8')) as LoadtestResult;
    // 12 agents × 6 ticks (one per agent per 10 bins / 10 bins/s) × 10 detectors.
    expect(result.bins_published).toBe(720);
    expect(result.bins_acknowledged).toBe(720);
    expect(result.bins_counted).toBe(720);
    expect(result.lost).toBe(0);
    expect(result.latency_ms!.measured).toBe(720);
    expect(result.latency_ms!.p50).toBeLessThanOrEqual(result.latency_ms!.p95);
    expect(result.latency_ms!.p95).toBeLessThanOrEqual(result.latency_ms!.max);
    expect(result.connect.s).toBeGreaterThan(0);
    expect(result.connect.wacoflow_cpu_s).toBeGreaterThan(0);
    expect(result.topology).toMatch(/^one process/);
    expect(result.components.map((c) => c.component)).toEqual(['wacoflow', 'load agents']);
    for (const c of result.components) {
      expect(c.cpu_s, c.component).toBeGreaterThan(0);
      expect(c.cpu_us_per_bin, c.component).toBeCloseTo((c.cpu_s! * 1e6) / 720, 6);
      expect(c.rss_max_bytes, c.component).toBeGreaterThan(20 * 1_048_576);
    }
    expect(result.wacoflow.cpu_s).toBe(result.components[0]!.cpu_s);
    // Central's own account of the run: its transactions stored every bin (and the core simulation's beside them).
    expect(result.central.transactions).toBeGreaterThan(0);
    expect(result.central.bins_per_transaction! * result.central.transactions).toBeGreaterThanOrEqual(720);
    expect(result.central.transaction_ms!.mean).toBeGreaterThan(0);
    expect(result.central.transaction_ms!.p50_at_most).toBeLessThanOrEqual(result.central.transaction_ms!.p95_at_most);
    expect(result.central.event_loop_delay_ms!.max).toBeGreaterThanOrEqual(result.central.event_loop_delay_ms!.p99);
    expect(r.stdout).toMatch(/central transactions\s+[\d,]+, [\d.]+ bins each; mean [\d.]+ ms, p50 at most [\d.]+ ms, p95 (at most [\d.]+ ms|over the largest bucket); [\d.]+ ms of CPU each/);
    // The table says the same.
    expect(r.stdout).toMatch(/acknowledged\s+720 bins/);
    expect(r.stdout).toMatch(/lost\s+0\n/);
    expect(r.stdout).toMatch(/12 agents connected in [\d.]+ s .*; sending\n/);
    expect(r.stdout).toMatch(/latency publish → window\s+p50 \d+ ms, p95 \d+ ms, p99 \d+ ms, max \d+ ms \(720 bins\)/);
    // One PUBACK per message: 12 agents × 6 ticks.
    expect(result.ack_latency_ms!.measured).toBe(72);
    expect(result.ack_latency_ms!.p50).toBeLessThanOrEqual(result.ack_latency_ms!.p95);
    expect(r.stdout).toMatch(/ {2}of it, publish → PUBACK\s+p50 \d+ ms, p95 \d+ ms, p99 \d+ ms, max \d+ ms \(72 messages\)/);
  }, 150_000);

  it('names a bad option and exits 2 before starting anything', () => {
    const r = spawnSync(process.execPath, [BIN, 'loadtest', '--agents', '0', '--rate', 'fast'], { encoding: 'utf8', env });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--agents: .*\n/);
    expect(r.stderr).toMatch(/--rate: .*\n/);
    const apart = spawnSync(process.execPath, [BIN, 'loadtest', '--topology', 'processes'], { encoding: 'utf8', env });
    expect(apart.status).toBe(2);
    expect(apart.stderr).toMatch(/--topology: processes needs Kafka and PostgreSQL: give --kafka-brokers and --database-url/);
    const profiled = spawnSync(process.execPath, [BIN, 'loadtest', '--cpu-prof', 'profiles'], { encoding: 'utf8', env });
    expect(profiled.status).toBe(2);
    expect(profiled.stderr).toMatch(/--cpu-prof: profiles are written by the gateway and central processes: use it with --topology processes/);
  });

  it('takes percentiles by rank', () => {
    const xs = Array.from({ length: 100 }, (_, i) => i + 1);
    expect([percentile(xs, 0.5), percentile(xs, 0.95), percentile(xs, 0.99), percentile(xs, 1)]).toEqual([50, 95, 99, 100]);
    expect(percentile([7], 0.95)).toBe(7);
  });

  // The gateway and central as deployed: each its own process, on the machine's Kafka and PostgreSQL.
  const kafka = process.env.WACOFLOW_KAFKA_BROKERS;
  const database = process.env.WACOFLOW_DATABASE_URL;
  it.skipIf(!kafka || !database)('runs the gateway and central as processes of their own, and reports each one', async () => {
    const json = join(mkdtempSync(join(tmpdir(), 'wacoflow-loadtest-')), 'result.json');
    const schema = withSchema(database!);
    const args = ['loadtest', '--agents', '8', '--rate', '80', '--duration', '5', '--detectors-per-agent', '10', '--kafka-brokers', kafka!, '--database-url', await schema.url(), '--json', json];
    const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 240_000 });
    await schema.drop();
    expect(r.status, r.stdout + r.stderr).toBe(0);
    const result = JSON.parse(readFileSync(json, 'utf8')) as LoadtestResult;
    // 8 agents × 5 ticks × 10 detectors, every one found in a window central wrote to PostgreSQL.
    expect([result.bins_acknowledged, result.bins_counted, result.lost]).toEqual([400, 400, 0]);
    expect(result.topology).toMatch(/^separate processes: gateway \(pid \d+\), central \(pid \d+\)$/);
    const byName = new Map(result.components.map((c) => [c.component, c]));
    for (const name of ['gateway', 'central']) {
      expect(byName.get(name)?.cpu_s, name).toBeGreaterThan(0);
      expect(byName.get(name)?.rss_max_bytes, name).toBeGreaterThan(20 * 1_048_576);
    }
    expect(result.wacoflow.cpu_s).toBeCloseTo(byName.get('gateway')!.cpu_s! + byName.get('central')!.cpu_s!, 6);
    // Nothing but the agents' bins here: central's transactions stored exactly those.
    expect(result.central.bins_per_transaction! * result.central.transactions).toBeCloseTo(400, 6);
    expect(r.stdout).toMatch(/CPU, gateway\s+[\d.]+ s, [\d.]+ µs per bin; peak resident \d+ MiB\n/);
    expect(r.stdout).toMatch(/CPU, central\s+[\d.]+ s/);
  }, 300_000);
});
