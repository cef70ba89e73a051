/**
 * Runs demo scenarios: each on a simulated city of its own (embedded/app.ts, everything in one process on
 * embedded defaults), from a chosen local time of day, narrated with the simulated clock, ending in one
 * `PASS` or `FAIL` line whose evidence was read from the running system (its HTTP API and /metrics).
 */
import { Writable } from 'node:stream';
import pino from 'pino';
import { buildEmbedded, type EmbeddedSystem } from '../embedded/app.ts';
import { EmbeddedConfigSchema, type EmbeddedConfig } from '../embedded/config.ts';
import { scaledClock, type Clock } from '../platform/clock.ts';
import { ERR, WacoflowError } from '../platform/errors.ts';
import { zoneOffsetMinutes } from '../platform/time-zones.ts';
import { Metrics } from '../platform/prometheus-text.ts';
import { SCENARIOS, type Scenario } from './scenarios.ts';

export const TIME_ZONE = 'America/Chicago';
const MINUTE_MS = 60_000;
const DAY_MS = 24 * 60 * MINUTE_MS;
/** Real time allowed for a system to start before its scenario's clock reaches the start. */
const STARTUP_MS = 10_000;

export interface LogLine {
  level: number;
  msg: string;
  input?: string;
}

export interface DemoContext {
  readonly system: EmbeddedSystem;
  readonly clock: Clock;
  /** Simulated time the scenario started at. */
  readonly start_ms: number;
  /** Lines logged at warning or error level so far. */
  readonly warnings: LogLine[];
  /** JSON from the running system's API. */
  get<T>(path: string): Promise<T>;
  /** A scrape of the running system's /metrics. */
  metrics(): Promise<Metrics>;
  /**
   * Waits until `until_min` simulated minutes after the start, calling `each` every `every_s` simulated seconds;
   * ends early once `each` returns true.
   */
  watch(until_min: number, every_s: number, each?: () => Promise<boolean | void>): Promise<void>;
  /** Simulated minutes since the start. */
  minute(): number;
  /** A narration line, stamped with the simulated local time. */
  say(text: string): void;
  /** HH:MM of a simulated time, in Waco. */
  local(t_ms: number): string;
}

export interface Outcome {
  pass: boolean;
  evidence: string;
}

export interface DemoOptions {
  speedup: number;
  /** Narration and results, one line at a time. */
  out: (line: string) => void;
  /** Settings added to every scenario's (tests use this to break one on purpose). */
  extra?: Partial<EmbeddedConfig>;
  /** Print every warning the system logs as it happens. */
  verbose?: boolean;
}

export function scenarioNamed(name: string): Scenario {
  const s = SCENARIOS.find((x) => x.name === name);
  if (!s) throw new WacoflowError(ERR.CONFIG, `unknown scenario "${name}"; choose one of: ${SCENARIOS.map((x) => x.name).join(', ')}`);
  return s;
}

/** Waco's wall clock at an instant, as if it were UTC. */
const wall = (t_ms: number): number => t_ms + zoneOffsetMinutes(t_ms, TIME_ZONE) * MINUTE_MS;

/** Today's `hh:mm` in Waco, as epoch ms. */
export function wacoToday(hh_mm: string, now_ms = Date.now()): number {
  const [h, m] = hh_mm.split(':').map(Number) as [number, number];
  const target = Math.floor(wall(now_ms) / DAY_MS) * DAY_MS + h * 60 * MINUTE_MS + m * MINUTE_MS;
  // The offset at the target, looked up again from the first guess for the days the clocks change.
  const guess = target - zoneOffsetMinutes(target, TIME_ZONE) * MINUTE_MS;
  return target - zoneOffsetMinutes(guess, TIME_ZONE) * MINUTE_MS;
}

/** HH:MM:SS in Waco. */
export function localHHMM(t_ms: number): string {
  return new Date(wall(t_ms)).toISOString().slice(11, 19);
}

/** Runs one scenario on a system of its own; the system is stopped whatever the outcome. */
export async function runScenario(scenario: Scenario, o: DemoOptions): Promise<Outcome> {
  const start_ms = wacoToday(scenario.starts_at);
  // The simulated clock reaches the scenario's start STARTUP_MS of real time from now: the system starts during
  // that lead-in (traffic runs from a little earlier), so no scenario minute is spent starting it.
  const clock = scaledClock(o.speedup, start_ms, Date.now() + STARTUP_MS);
  const warnings: LogLine[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      for (const text of String(chunk).split('\n').filter(Boolean)) {
        const line = JSON.parse(text) as LogLine;
        warnings.push(line);
        if (o.verbose) o.out(`  ${localHHMM(clock.now())}  log ${line.level >= 50 ? 'error' : 'warn'}: ${line.input ? `${line.input}: ` : ''}${line.msg}`);
      }
      done();
    },
  });
  const config = EmbeddedConfigSchema.parse({ http_port: 0, speedup: o.speedup, incidents: 'off', start: new Date(start_ms).toISOString(), ...scenario.settings, ...o.extra });
  const system = buildEmbedded(config, { clock, logger: pino({ level: 'warn' }, sink), version: 'demo' });
  const say = (text: string) => o.out(`  ${localHHMM(clock.now())}  ${text}`);
  o.out(`── ${scenario.name}: ${scenario.title}`);
  try {
    await system.start();
    const url = system.httpUrl();
    const get = async <T>(path: string): Promise<T> => {
      const res = await fetch(`${url}${path}`);
      if (!res.ok) throw new Error(`GET ${path}: HTTP ${res.status}`);
      return (await res.json()) as T;
    };
    const minute = () => (clock.now() - start_ms) / MINUTE_MS;
    const ctx: DemoContext = {
      system, clock, start_ms, warnings, get,
      metrics: async () => new Metrics(await (await fetch(`${url}/metrics`)).text()),
      minute,
      say,
      local: localHHMM,
      async watch(until_min, every_s, each) {
        while (minute() < until_min) {
          if (each && (await each())) return;
          await new Promise((r) => setTimeout(r, Math.max(20, (every_s * 1000) / o.speedup)));
        }
      },
    };
    say(`${system.agents().length} agents running; API ${url}/api/stations, metrics ${url}/metrics`);
    await ctx.watch(0, 5);
    return await scenario.run(ctx);
  } catch (err) {
    return { pass: false, evidence: `the scenario stopped with an error: ${(err as Error).message}` };
  } finally {
    await system.stop();
  }
}

/** Runs scenarios in turn, printing one PASS or FAIL line each; resolves true when all passed. */
export async function runDemo(names: string[], o: DemoOptions): Promise<boolean> {
  const scenarios = (names.length > 0 ? names : SCENARIOS.map((s) => s.name)).map(scenarioNamed);
  let passed = 0;
  for (const scenario of scenarios) {
    const outcome = await runScenario(scenario, o);
    if (outcome.pass) passed++;
    o.out(`${outcome.pass ? 'PASS' : 'FAIL'} ${scenario.name}: ${outcome.evidence}`);
  }
  if (scenarios.length > 1) o.out(`${passed} of ${scenarios.length} scenarios passed`);
  return passed === scenarios.length;
}
