/**
 * The shipped Prometheus files in a real Prometheus (Debian's `prometheus` package; CI installs it):
 * the scrape config and the alert rules load, the rules pass their unit tests, and a Prometheus server scrapes
 * a running WacoFlow (the simulator, as its own process) and sees its pipeline and fleet metrics.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { freePort } from '../../test/ports.ts';

const find = (name: string) => [`/usr/bin/${name}`, `/usr/local/bin/${name}`].find((p) => existsSync(p));
const promtool = find('promtool');
const prometheus = find('prometheus');
const required = process.env.WACOFLOW_REQUIRE_SERVICES === '1';
const here = import.meta.dirname;
const BIN = join(here, '..', '..', 'bin', 'wacoflow.js');

const tool = (...args: string[]) => execFileSync(promtool!, args, { encoding: 'utf8', cwd: here });

async function until<T>(what: string, fn: () => Promise<T | null>, timeout_ms: number): Promise<T> {
  const deadline = Date.now() + timeout_ms;
  for (;;) {
    const v = await fn().catch(() => null);
    if (v !== null) return v;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeout_ms} ms`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

describe('deploy/prometheus', () => {
  it.skipIf(!promtool && !required)('prometheus.yml and rules.yml pass promtool, and the rules their unit tests', () => {
    expect(promtool, 'promtool is required in CI: apt-get install prometheus').toBeDefined();
    expect(tool('check', 'config', 'prometheus.yml')).toContain('SUCCESS: 1 rule files found');
    expect(tool('check', 'rules', 'rules.yml')).toContain('SUCCESS');
    expect(tool('test', 'rules', 'rules.test.yml')).toContain('SUCCESS');
  });

  it.skipIf(!prometheus && !required)('a real Prometheus scrapes a running WacoFlow and loads the rules', async () => {
    expect(prometheus, 'prometheus is required in CI: apt-get install prometheus').toBeDefined();
    const dir = mkdtempSync(join(tmpdir(), 'wacoflow-prometheus-'));
    // The simulator picks its own port and prints it: a port chosen here could be taken before it binds.
    // The embedded system on its own: without the CI's service addresses, which would put it on the shared Kafka.
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !['WACOFLOW_KAFKA_BROKERS', 'WACOFLOW_DATABASE_URL'].includes(k)));
    // The nine-station core: what is under test is the scrape and the rules, and a whole city at 60× on a loaded
    // CI machine can take longer to answer /metrics than the one-second scrape timeout used here.
    const sim = spawn(process.execPath, [BIN, 'sim', '--network', 'core', '--speedup', '60', '--http-port', '0', '--log-level', 'warn'], { stdio: ['ignore', 'pipe', 'ignore'], env });
    let banner = '';
    sim.stdout!.on('data', (d: Buffer) => (banner += d.toString()));
    const apiPort = await until('the simulator’s address', async () => /dashboard\s+http:\/\/127\.0\.0\.1:(\d+)\//.exec(banner)?.[1] ?? null, 60_000);
    const promPort = await freePort();
    writeFileSync(join(dir, 'prometheus.yml'), [
      'global: { scrape_interval: 1s, evaluation_interval: 1s }',
      `rule_files: ['${join(here, 'rules.yml')}']`,
      'scrape_configs:',
      '  - job_name: wacoflow-central',
      `    static_configs: [{ targets: ['127.0.0.1:${apiPort}'] }]`,
    ].join('\n'));
    const server = spawn(prometheus!, [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${promPort}`], { stdio: 'ignore' });
    const query = async (q: string) => {
      const res = await fetch(`http://127.0.0.1:${promPort}/api/v1/query?query=${encodeURIComponent(q)}`);
      const body = (await res.json()) as { data: { result: { metric: Record<string, string>; value: [number, string] }[] } };
      return body.data.result;
    };
    try {
      // Scraped and up…
      await until('target up', async () => ((await query('up{job="wacoflow-central"}'))[0]?.value[1] === '1' ? true : null), 60_000);
      // …with the pipeline's counters and the fleet gauges (the simulator's agents send heartbeats).
      const stored = await until('bins stored', async () => {
        const r = await query('wacoflow_central_bins_total{result="stored"} > 0');
        return r.length > 0 ? r : null;
      }, 90_000);
      expect(Number(stored[0]!.value[1])).toBeGreaterThan(0);
      // Every agent the simulator runs (as its fleet API lists them), each up once its first heartbeat has been scraped.
      const fleet = (await (await fetch(`http://127.0.0.1:${apiPort}/api/fleet`)).json()) as { devices: { device_id: string }[] };
      const agents = fleet.devices.map((d) => d.device_id).sort();
      expect(agents.length).toBeGreaterThanOrEqual(2);
      const devices = await until('devices online', async () => {
        const r = await query('wacoflow_fleet_device_up == 1');
        return r.length >= agents.length ? r : null;
      }, 90_000);
      expect(devices.map((d) => d.metric.device_id).sort()).toEqual(agents);
      await until('every device’s heartbeat age', async () => ((await query('wacoflow_fleet_device_heartbeat_age_seconds')).length === devices.length ? true : null), 60_000);
      // The rules are loaded and evaluated against these series.
      const rules = (await (await fetch(`http://127.0.0.1:${promPort}/api/v1/rules`)).json()) as { data: { groups: { name: string; rules: { name: string; health: string }[] }[] } };
      const loaded = rules.data.groups.flatMap((g) => g.rules);
      expect(loaded.map((r) => r.name)).toEqual(expect.arrayContaining(['WacoflowBoardOffline', 'WacoflowOutboxGrowing', 'WacoflowDetectorStuck', 'WacoflowConsumerLag', 'WacoflowSevereCongestion']));
      await until('rules evaluated', async () => (loaded.length > 0 && (await (await fetch(`http://127.0.0.1:${promPort}/api/v1/rules`)).json() as typeof rules).data.groups.flatMap((g) => g.rules).every((r) => r.health === 'ok') ? true : null), 30_000);
    } finally {
      server.kill('SIGTERM');
      sim.kill('SIGTERM');
    }
  }, 240_000);
});
