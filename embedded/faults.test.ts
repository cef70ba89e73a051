/**
 * Faults injected into simulated devices (`wacoflow sim --fault`), each seen where the system is meant to
 * catch it: a feed outage opens the input's circuit breaker, which closes again when the feed is back; broken
 * XML becomes dead letters; nonsense camera values, serial line noise and a skewed sensor clock are dropped
 * and counted; a stuck detector raises central's stuck_on alert.
 */
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { scaledClock } from '../platform/clock.ts';
import type { Alert, Heartbeat } from '../protocol/index.ts';
import { socatAvailable } from '../simulators/serial/pty-pair.ts';
import { buildEmbedded } from './app.ts';
import { EmbeddedConfigSchema } from './config.ts';

const required = process.env.WACOFLOW_REQUIRE_SERVICES === '1';
const SPEEDUP = 40;

describe.skipIf(!socatAvailable() && !required)('faults injected into the simulated city', () => {
  it('shows each fault where the agent or central catches it', async () => {
    const faults = [
      // Six simulated minutes: at 40× the agent's polls and its jittered backoff are late by up to a minute on a
      // busy machine, and the breaker needs five failures in a row inside the outage (three minutes were seen
      // to give only three).
      'txdot-lp340:outage@1+6',
      'waco-signals:malformed',
      'camera-vm-franklin:nonsense',
      'hwy6-radar:noise',
      'us84-hd:clock-skew',
      'i35-sb-12th:stuck',
    ];
    // Fault minutes count from `start`, which the clock reaches ten real seconds from now: however long the
    // system takes to start on a loaded machine, the outage begins after its agents run.
    const start_ms = Date.now();
    const system = buildEmbedded(EmbeddedConfigSchema.parse({ speedup: SPEEDUP, http_port: 0, grace_ms: 30_000, incidents: 'off', faults, start: new Date(start_ms).toISOString() }), {
      clock: scaledClock(SPEEDUP, start_ms, Date.now() + 10_000), logger: pino({ level: 'silent' }), version: 'test',
    });
    let beats: Heartbeat[] = [];
    let alerts: Alert[] = [];
    const input = (name: string) => beats.flatMap((b) => b.inputs).find((i) => i.name === name)!;
    const done = () =>
      input('txdot-lp340').breaker_transitions!.open > 0 && input('txdot-lp340').breaker_transitions!.closed > 0 && input('txdot-lp340').state === 'ok' &&
      beats.find((b) => b.device_id === 'agent-waco-signals')!.dead_letters_total > 0 &&
      input('camera-vm-franklin').dropped_total > 0 && input('hwy6-radar').dropped_total > 0 && input('us84-hd').dropped_total > 0 &&
      alerts.some((a) => a.rule === 'stuck_on' && a.key.startsWith('i35-sb-12th'));
    try {
      await system.start();
      const deadline = Date.now() + 100_000;
      while (Date.now() < deadline) {
        beats = await Promise.all(system.agents().map((a) => a.heartbeat()));
        alerts = ((await (await fetch(`${system.httpUrl()}/api/alerts?state=all`)).json()) as { alerts: Alert[] }).alerts;
        if (done()) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      // Opened during the 6-minute outage (and re-opened by failed trials), closed by the first trial after it.
      expect.soft(input('txdot-lp340').breaker_transitions).toMatchObject({ open: expect.any(Number), closed: 1 });
      expect.soft(input('txdot-lp340').breaker_transitions!.open).toBeGreaterThan(0);
      expect.soft(input('txdot-lp340')).toMatchObject({ breaker: 'closed', state: 'ok' });
      expect.soft(beats.find((b) => b.device_id === 'agent-waco-signals')!.dead_letters_total).toBeGreaterThan(0);
      for (const name of ['camera-vm-franklin', 'hwy6-radar', 'us84-hd']) expect.soft(input(name).dropped_total, name).toBeGreaterThan(0);
      expect.soft(alerts.filter((a) => a.rule === 'stuck_on').map((a) => a.key)).toContain('i35-sb-12th-l1');
      // Untouched inputs stay clean.
      expect.soft(input('txdot-i35')).toMatchObject({ state: 'ok', breaker: 'closed' });
    } finally {
      await system.stop();
    }
  }, 150_000);
});
