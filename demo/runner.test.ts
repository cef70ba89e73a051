/**
 * The demo runner: a scenario whose expectation is broken on purpose ends in FAIL with the reason; an unknown
 * scenario names the choices; scenarios start at a local time of day in Waco. (Every scenario passing, through
 * the CLI: demo.test.ts.)
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { socatAvailable } from '../simulators/serial/pty-pair.ts';
import { runScenario, scenarioNamed, wacoToday } from './runner.ts';

const BIN = fileURLToPath(new URL('../bin/wacoflow.js', import.meta.url));
const required = process.env.WACOFLOW_REQUIRE_SERVICES === '1';
/** The demo's own speed-up (demo.test.ts says why 30×). */
const SPEEDUP = 30;

describe.skipIf(!socatAvailable() && !required)('the demo runner', () => {
  it('fails a scenario whose expectation does not hold, saying why', async () => {
    const lines: string[] = [];
    // Normal operation with a feed that never answers: the warnings and the failed input are the reasons.
    const outcome = await runScenario(scenarioNamed('normal'), { speedup: SPEEDUP, out: (l) => lines.push(l), extra: { faults: ['waco-signals:outage@0'] } });
    expect(outcome.pass).toBe(false);
    // Beside the rest of the suite the serial line may miss a poll too, and be listed before it.
    expect(outcome.evidence).toMatch(/inputs not ok: (.+, )?waco-signals (degraded|failed)/);
    expect(outcome.evidence).toMatch(/\d+ warnings logged, first: /);
  }, 180_000);

  it('names the choices for an unknown scenario, before starting anything', () => {
    const r = spawnSync(process.execPath, [BIN, 'demo', 'rush-hour'], { encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr.trim()).toBe('wacoflow: configuration error: unknown scenario "rush-hour"; choose one of: normal, feed-failure, game-day, topology, metrics');
  });

  it('starts scenarios at a local time of day in Waco', () => {
    // 2026-07-01 is in daylight time (UTC−5), 2026-12-01 in standard time (UTC−6).
    expect(new Date(wacoToday('07:30', Date.parse('2026-07-01T15:00:00Z'))).toISOString()).toBe('2026-07-01T12:30:00.000Z');
    expect(new Date(wacoToday('16:20', Date.parse('2026-12-01T15:00:00Z'))).toISOString()).toBe('2026-12-01T22:20:00.000Z');
    // Late in the evening in Waco it is already tomorrow in UTC: still Waco's today.
    expect(new Date(wacoToday('07:30', Date.parse('2026-12-02T04:00:00Z'))).toISOString()).toBe('2026-12-01T13:30:00.000Z');
  });
});
