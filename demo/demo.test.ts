/**
 * `wacoflow demo` as a user runs it: scenarios on a simulated city of their own, each ending in a PASS line
 * whose evidence was read from the running system, all five in turn, as `wacoflow demo` runs them with no
 * scenario named. Alone on the machine (a paced test: vitest.config.ts). The runner's other behaviour, a FAIL
 * included, is in runner.test.ts.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { socatAvailable } from '../simulators/serial/pty-pair.ts';
import { SCENARIOS } from './scenarios.ts';

const BIN = fileURLToPath(new URL('../bin/wacoflow.js', import.meta.url));
const required = process.env.WACOFLOW_REQUIRE_SERVICES === '1';
// 30×: serial lines run at their real baud rate, and above about 40× the SS105 line cannot poll its ten
// sensors within a 20-second interval (docs/simulator.md).
const SPEEDUP = '30';

/** What each scenario's PASS line must say: what the system reported, not a constant. */
const EVIDENCE: Record<string, RegExp> = {
  normal: /168\/168 stations final .* camera-http, ss105-serial, ss125-serial, tmdd-http on 7 agents; [\d,]+ bins stored, 0 invalid; 0 warnings/,
  'feed-failure': /breaker .*open .*→ closed .*; transitions open [1-9]\d*, half_open [1-9]\d*, closed 1/,
  'game-day': /mlk-sb-stadium congested from 16:30:00, the queue at mlk-sb-elm from \d\d:\d\d:00/,
  topology: /7 agents online, 7 connected to the gateway, [\d,]+ messages forwarded, 6 bins partitions consumed by wacoflow-central/,
  metrics: /11 of 11 families present; in five minutes [1-9][\d,]* bins stored and [1-9][\d,]* windows emitted; 7 boards up/,
};
// Every scenario, in the order `wacoflow demo` runs them with none named: about four minutes at 30×.
const RUN = SCENARIOS.map((sc) => sc.name);

describe.skipIf(!socatAvailable() && !required)('wacoflow demo', () => {
  it('runs every scenario in turn and passes each, with its evidence', () => {
    const r = spawnSync(process.execPath, [BIN, 'demo', '--speedup', SPEEDUP], { encoding: 'utf8', timeout: 600_000 });
    const results = r.stdout.split('\n').filter((l) => /^(PASS|FAIL) /.test(l));
    expect(results.map((l) => l.split(':')[0]), r.stdout + r.stderr).toEqual(RUN.map((name) => `PASS ${name}`));
    expect(r.stdout).toContain(`${RUN.length} of ${RUN.length} scenarios passed`);
    expect(r.status).toBe(0);
    // The evidence is what the system reported: every station of the city final, the breaker's transitions.
    RUN.forEach((name, i) => expect(results[i]).toMatch(EVIDENCE[name]!));
  }, 660_000);
});
