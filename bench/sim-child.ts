/**
 * The system `wacoflow sim` runs, in a process of its own that bench/sim.ts measures. It starts the embedded
 * system with the configuration given as JSON in argv[2], reports its API address, and then answers the
 * benchmark over IPC: `cpu` (CPU seconds, memory high-water marks and warnings logged since the last `cpu`),
 * `profile` (a V8 CPU profile over the given seconds, written to a file), and `stop`.
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { Writable } from 'node:stream';
import pino from 'pino';
import { buildEmbedded } from '../embedded/app.ts';
import { EmbeddedConfigSchema } from '../embedded/config.ts';
import { scaledClock } from '../platform/clock.ts';

export type SimChildRequest = { kind: 'cpu' } | { kind: 'profile'; seconds: number; file: string } | { kind: 'stop' };
export interface SimChildCpu {
  kind: 'cpu';
  cpu_s: number;
  rss_max_bytes: number;
  heap_used_max_bytes: number;
  external_max_bytes: number;
  /** Log lines at warning level or above since the previous `cpu`, with the first few messages. */
  warnings: number;
  warning_samples: string[];
  sim_now_ms: number;
}

const config = EmbeddedConfigSchema.parse(JSON.parse(process.argv[2]!));
let warnings: string[] = [];
let warningCount = 0;
const sink = new Writable({
  write(chunk, _enc, done) {
    for (const line of String(chunk).split('\n').filter(Boolean)) {
      const l = JSON.parse(line) as { level: number; msg: string; device_id?: string; err?: string };
      if (l.level < 40) continue;
      warningCount++;
      if (warnings.length < 5) warnings.push(`${l.msg}${l.device_id ? ` (${l.device_id})` : ''}${l.err ? `: ${l.err}` : ''}`);
    }
    done();
  },
});
const clock = scaledClock(config.speedup);
const system = buildEmbedded(config, { clock, logger: pino({ level: 'warn' }, sink), version: 'bench' });
await system.start();

let peak = { rss: 0, heap: 0, external: 0 };
const sample = (): void => {
  const m = process.memoryUsage();
  peak = { rss: Math.max(peak.rss, m.rss), heap: Math.max(peak.heap, m.heapUsed), external: Math.max(peak.external, m.external + m.arrayBuffers) };
};
setInterval(sample, 1_000).unref();
let cpuAt = process.cpuUsage();

const session = new Session();
session.connect();

process.on('message', (req: SimChildRequest) => {
  void (async () => {
    if (req.kind === 'cpu') {
      sample();
      const used = process.cpuUsage(cpuAt);
      cpuAt = process.cpuUsage();
      const reply: SimChildCpu = {
        kind: 'cpu', cpu_s: (used.user + used.system) / 1e6, rss_max_bytes: peak.rss, heap_used_max_bytes: peak.heap, external_max_bytes: peak.external,
        warnings: warningCount, warning_samples: warnings, sim_now_ms: clock.now(),
      };
      peak = { rss: 0, heap: 0, external: 0 };
      [warnings, warningCount] = [[], 0];
      process.send!(reply);
    } else if (req.kind === 'profile') {
      await session.post('Profiler.enable');
      await session.post('Profiler.setSamplingInterval', { interval: 1_000 });
      await session.post('Profiler.start');
      await new Promise((r) => setTimeout(r, req.seconds * 1000));
      const { profile } = await session.post('Profiler.stop');
      writeFileSync(req.file, JSON.stringify(profile));
      process.send!({ kind: 'profile', file: req.file });
    } else {
      await system.stop();
      process.exit(0);
    }
  })();
});
process.send!({ kind: 'ready', url: system.httpUrl() });
