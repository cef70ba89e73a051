/** The CLI as a user runs it: a real process, real exit codes, real signals. */
import { spawn, spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const BIN = join(import.meta.dirname, '..', 'bin', 'wacoflow.js');
// Simulator mode on its embedded defaults, as the README's quick start runs it: not on the Kafka and PostgreSQL
// that CI's environment names for the real-service suites.
const env = { ...process.env, WACOFLOW_HTTP_PORT: '', WACOFLOW_KAFKA_BROKERS: '', WACOFLOW_DATABASE_URL: '' };
const run = (...args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 60_000, env });

describe('wacoflow CLI', () => {
  it('explains every subcommand and option', () => {
    const top = run('--help');
    expect(top.status).toBe(0);
    expect(top.stdout).toContain('sim');
    const sim = run('sim', '--help');
    expect(sim.status).toBe(0);
    for (const flag of ['--speedup', '--http-port', '--http-host', '--mqtt-port', '--kafka-brokers', '--database-url', '--data-dir', '--grace-ms', '--log-level']) {
      expect(sim.stdout).toContain(flag);
    }
  });

  it('reports every bad setting on its own line, naming the option, with no stack trace', () => {
    const r = run('sim', '--http-port', 'eighty', '--speedup', '0', '--kafka-brokers', 'localhost');
    expect(r.status).toBe(2);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(3);
    expect(lines.find((l) => l.includes('--speedup'))).toMatch(/configuration error: --speedup \(or WACOFLOW_SPEEDUP\): .*>=1.* \(got 0\)/);
    expect(lines.find((l) => l.includes('--http-port'))).toContain('(got "eighty")');
    expect(lines.find((l) => l.includes('--kafka-brokers'))).toContain('host:port');
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('refuses --stations below the city, with the core network, and with SUMO, naming why', () => {
    const few = run('sim', '--http-port', '0', '--stations', '40');
    expect(few.status).toBe(2);
    expect(few.stderr).toContain("configuration error: --stations: must be at least the city's 80 road stations (got 40)");
    const core = run('sim', '--http-port', '0', '--stations', '500', '--network', 'core');
    expect(core.stderr).toContain('--stations: grows the whole city: leave out --network core');
    const sumo = run('sim', '--http-port', '0', '--stations', '500', '--engine', 'sumo');
    expect(sumo.stderr).toContain("--stations: SUMO's network is the city as it is");
  });

  it('names the option when the HTTP port is taken, and exits non-zero', async () => {
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const port = (blocker.address() as { port: number }).port;
    try {
      const r = run('sim', '--http-port', String(port));
      expect(r.status).toBe(1);
      const problems = r.stderr.trim().split('\n').filter((l) => l.startsWith('wacoflow:'));
      expect(problems).toEqual([
        `wacoflow: --http-port (or WACOFLOW_HTTP_PORT): port ${port} on 127.0.0.1 is already in use; choose another port (0 picks a free one)`,
      ]);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    } finally {
      blocker.close();
    }
  });

  it('starts, prints where it listens, and stops cleanly on Ctrl-C', async () => {
    const child = spawn(process.execPath, [BIN, 'sim', '--http-port', '0', '--speedup', '10', '--log-level', 'warn'], { stdio: ['ignore', 'pipe', 'pipe'], env });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    const deadline = Date.now() + 45_000;
    while (!out.includes('Ctrl-C stops everything') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    const api = /API\s+(http:\/\/127\.0\.0\.1:\d+)\/api\/stations/.exec(out)?.[1];
    expect(api, `stdout: ${out}\nstderr: ${err}`).toBeDefined();
    const health = await fetch(`${api}/api/health`);
    expect(health.status, await health.clone().text()).toBe(200);
    const sent = Date.now();
    child.kill('SIGINT');
    const code = await exited;
    expect({ code, stderr: err }).toEqual({ code: 0, stderr: expect.stringContaining('stopped cleanly') });
    expect(Date.now() - sent).toBeLessThan(10_000);
  }, 60_000);
});
