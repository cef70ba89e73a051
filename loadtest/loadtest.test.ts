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
    expect(result.cpu.wacoflow_us_per_bin).toBeGreaterThan(0);
    expect(result.cpu.agents_s).toBeGreaterThan(0);
    expect(result.rss_bytes_max.wacoflow).toBeGreaterThan(0);
    expect(result.rss_bytes_max.agents).toBeGreaterThan(0);
    // The table says the same.
    expect(r.stdout).toMatch(/acknowledged\s+720 bins/);
    expect(r.stdout).toMatch(/lost\s+0\n/);
    expect(r.stdout).toMatch(/12 agents connected in [\d.]+ s .*; sending\n/);
    expect(r.stdout).toMatch(/latency publish → window\s+p50 \d+ ms, p95 \d+ ms, p99 \d+ ms, max \d+ ms \(720 bins\)/);
  }, 150_000);

  it('names a bad option and exits 2 before starting anything', () => {
    const r = spawnSync(process.execPath, [BIN, 'loadtest', '--agents', '0', '--rate', 'fast'], { encoding: 'utf8', env });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--agents: .*\n/);
    expect(r.stderr).toMatch(/--rate: .*\n/);
  });

  it('takes percentiles by rank', () => {
    const xs = Array.from({ length: 100 }, (_, i) => i + 1);
    expect([percentile(xs, 0.5), percentile(xs, 0.95), percentile(xs, 0.99), percentile(xs, 1)]).toEqual([50, 95, 99, 100]);
    expect(percentile([7], 0.95)).toBe(7);
  });
});
