/**
 * Does `wacoflow sim` keep up with real time at city scale? Runs the whole embedded pipeline (simulated feeds,
 * agents over real MQTT, gateway, in-process log, central, PGlite) on N road stations in a child process
 * (bench/sim-child.ts), and reports:
 *
 * - whether it keeps real time: at the end, every station's last final window is the one due (a window is
 *   final a grace period after it ends), and central's consumer lag is near zero;
 * - the process's CPU (cores used, µs per bin stored) over the measured minutes, split by component with a
 *   CPU profile taken afterwards (bench/cpu-profile.ts);
 * - memory: resident set, V8 heap and buffers outside it, high-water marks.
 *
 *   npm run bench:sim                                  2,000 stations, real time, 2 min warm-up, 5 min measured
 *   npm run bench:sim -- --stations 500 --measure-s 60 --json out.json
 */
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Metrics } from '../platform/prometheus-text.ts';
import { alignDown, WINDOW_MS } from '../protocol/index.ts';
import { cpuByComponent, type CpuProfile } from './cpu-profile.ts';
import type { SimChildCpu, SimChildRequest } from './sim-child.ts';

const { values: args } = parseArgs({
  options: {
    stations: { type: 'string', default: '2000' },
    speedup: { type: 'string', default: '1' },
    'warmup-s': { type: 'string', default: '120' },
    'measure-s': { type: 'string', default: '300' },
    'profile-s': { type: 'string', default: '60' },
    json: { type: 'string' },
  },
});
const STATIONS = Number(args.stations);
const SPEEDUP = Number(args.speedup);
const GRACE_MS = 60_000;
/** Real seconds a final window may be late before the run is said not to keep up. */
const SLACK_S = 15;
const STORED = { result: 'stored' };
const TSX = join(import.meta.dirname, '..', 'node_modules', 'tsx', 'dist', 'loader.mjs');

const say = (line: string): void => void process.stderr.write(`${line}\n`);
const sleep = (s: number) => new Promise((r) => setTimeout(r, s * 1000));

/** Sends `req` (if any) and waits for the child's message of `kind`. */
function ask<T>(child: ChildProcess, req: SimChildRequest | null, kind: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const onMessage = (m: { kind: string }) => {
      if (m.kind !== kind) return;
      child.off('message', onMessage);
      child.off('exit', onExit);
      resolve(m as T);
    };
    const onExit = (code: number | null) => reject(new Error(`the simulator process exited (code ${code}) while waiting for '${kind}'`));
    child.on('message', onMessage);
    child.once('exit', onExit);
    if (req) child.send(req);
  });
}

/** The sum of a metric's samples whose labels include `match` (0 when there are none). */
async function metric(url: string, name: string, match: Record<string, string> = {}): Promise<number> {
  return new Metrics(await (await fetch(`${url}/metrics`)).text()).sum(name, match) ?? 0;
}

interface StationsBody {
  stations: { station_id: string; current: { window_start_ms: number } | null; last_final: { window_end_ms: number } | null }[];
}
const stationsNow = async (url: string) => ((await (await fetch(`${url}/api/stations`)).json()) as StationsBody).stations;

const config = { stations: STATIONS, speedup: SPEEDUP, http_port: 0, incidents: 'off', grace_ms: GRACE_MS };
say(`starting the simulator: ${STATIONS} road stations at ${SPEEDUP}× real time`);
const child = fork(join(import.meta.dirname, 'sim-child.ts'), [JSON.stringify(config)], { execArgv: ['--import', TSX], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
const started = Date.now();
const { url } = await ask<{ url: string }>(child, null, 'ready').catch((err: unknown) => {
  say(String(err));
  process.exit(1);
});
say(`running after ${((Date.now() - started) / 1000).toFixed(0)} s at ${url}; warming up for ${args['warmup-s']} s`);

for (let waited = 0; waited < Number(args['warmup-s']); waited += 10) {
  await sleep(10);
  const st = await stationsNow(url);
  say(`  warm-up ${waited + 10} s: ${st.filter((s) => s.current).length} of ${st.length} stations have a window`);
}
const warm = await ask<SimChildCpu>(child, { kind: 'cpu' }, 'cpu');
const measureS = Number(args['measure-s']);
const binsAt = await metric(url, 'wacoflow_central_bins_total', STORED);
const t0 = Date.now();
for (let waited = 0; waited < measureS; waited += 30) {
  await sleep(Math.min(30, measureS - waited));
  const stored = (await metric(url, 'wacoflow_central_bins_total', STORED)) - binsAt;
  say(`  measuring ${Math.min(measureS, waited + 30)} of ${measureS} s: ${stored.toLocaleString('en-US')} bins stored, consumer lag ${await metric(url, 'wacoflow_central_consumer_lag_records')}`);
}
const measured = await ask<SimChildCpu>(child, { kind: 'cpu' }, 'cpu');
const wall_s = (Date.now() - t0) / 1000;
const bins = (await metric(url, 'wacoflow_central_bins_total', STORED)) - binsAt;
const lag = await metric(url, 'wacoflow_central_consumer_lag_records');

// Keeping real time: every station's last final window is the newest one due by now (minus the slack).
const due = alignDown(measured.sim_now_ms - GRACE_MS - SLACK_S * 1000 * SPEEDUP, WINDOW_MS);
const stations = await stationsNow(url);
const behind = stations.filter((s) => (s.last_final?.window_end_ms ?? 0) < due).map((s) => s.station_id);

const profileS = Number(args['profile-s']);
say(`profiling for ${profileS} s`);
const file = join(mkdtempSync(join(tmpdir(), 'wacoflow-sim-bench-')), 'sim.cpuprofile');
await ask(child, { kind: 'profile', seconds: profileS, file }, 'profile');
const byComponent = cpuByComponent(JSON.parse(readFileSync(file, 'utf8')) as CpuProfile);
const sampled = byComponent.reduce((a, c) => a + c.ms, 0);
child.send({ kind: 'stop' } satisfies SimChildRequest);
await new Promise((r) => child.once('exit', r));

const mib = (b: number) => `${(b / 2 ** 20).toFixed(0)} MiB`;
const result = {
  date: new Date().toISOString().slice(0, 10),
  machine: `${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}`,
  node: process.version,
  stations: STATIONS,
  api_stations: stations.length,
  speedup: SPEEDUP,
  measured_s: Math.round(wall_s),
  bins_stored: bins,
  bins_per_s: Math.round(bins / wall_s),
  cpu_s: Math.round(measured.cpu_s * 10) / 10,
  cores_used: Math.round((measured.cpu_s / wall_s) * 100) / 100,
  us_per_bin: Math.round((measured.cpu_s / bins) * 1e6),
  keeps_real_time: behind.length === 0 && lag < 1_000,
  stations_behind: behind.length,
  consumer_lag_at_end: lag,
  warnings_warm_up: warm.warnings,
  warnings_measured: measured.warnings,
  warning_samples: [...warm.warning_samples, ...measured.warning_samples].slice(0, 5),
  memory: { rss_max_bytes: measured.rss_max_bytes, heap_used_max_bytes: measured.heap_used_max_bytes, external_max_bytes: measured.external_max_bytes },
  components: byComponent.map((c) => ({
    component: c.component,
    share: Math.round((c.ms / sampled) * 1000) / 1000,
    cores: Math.round(((c.ms / sampled) * measured.cpu_s * 100) / wall_s) / 100,
    us_per_bin: Math.round(((c.ms / sampled) * measured.cpu_s * 1e6) / bins),
  })),
};

const out = [
  `### \`wacoflow sim\` at ${STATIONS.toLocaleString('en-US')} road stations, ${SPEEDUP}× real time (${result.date}, ${result.machine}, Node ${result.node})`,
  '',
  `${result.keeps_real_time ? 'Keeps real time' : 'Does NOT keep real time'}: ${behind.length} of ${stations.length} stations behind their due final window, consumer lag ${lag} at the end. ` +
    `Over ${result.measured_s} s: ${bins.toLocaleString('en-US')} bins stored (${result.bins_per_s}/s), ${result.cpu_s} CPU s = ${result.cores_used} cores, ${result.us_per_bin} µs per bin. ` +
    `Warnings logged: ${warm.warnings} during warm-up, ${measured.warnings} while measured${result.warning_samples.length ? ` (e.g. ${result.warning_samples[0]})` : ''}.`,
  '',
  '| component | share of CPU | cores | µs per bin |',
  '|---|---:|---:|---:|',
  ...result.components.map((c) => `| ${c.component} | ${(c.share * 100).toFixed(1)} % | ${c.cores.toFixed(2)} | ${c.us_per_bin} |`),
  `| **all** (one process) | 100 % | ${result.cores_used.toFixed(2)} | ${result.us_per_bin} |`,
  '',
  `Memory (high-water, one process): resident ${mib(result.memory.rss_max_bytes)}, V8 heap used ${mib(result.memory.heap_used_max_bytes)}, buffers outside the heap ${mib(result.memory.external_max_bytes)}.`,
  '',
];
process.stdout.write(out.join('\n'));
if (args.json) writeFileSync(args.json, `${JSON.stringify(result, null, 2)}\n`);
process.exit(result.keeps_real_time ? 0 : 1);
