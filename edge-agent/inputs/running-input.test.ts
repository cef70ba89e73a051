import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { Sample } from '../../protocol/index.ts';
import { ManualClock } from '../../platform/clock.ts';
import type { Input } from './input.ts';
import { RunningInput } from './running-input.ts';

const T0 = 1_764_230_400_000;
const s = (offset_ms: number): Sample => ({ detector_id: 'd', station_id: 'st', start_ms: T0 + offset_ms, duration_ms: 20_000, volume: 1, occupancy_pct: 1, speed_kmh: 50, status: 'ok' });

function harness(reads: (() => Promise<Sample[]>)[]) {
  const got: Sample[][] = [];
  const clock = new ManualClock(T0);
  let i = 0;
  let calls = 0;
  const input: Input = {
    name: 'feed', driver: 'test', sample_interval_ms: 20_000, poll_interval_ms: 20_000,
    read: async () => {
      calls++;
      return { samples: await reads[Math.min(i++, reads.length - 1)]!(), dropped: {} };
    },
  };
  const running = new RunningInput(
    input,
    { clock, logger: pino({ level: 'silent' }), onSamples: (x) => got.push(x), onDropped: () => {} },
    { timeout_ms: 1_000, backoff_initial_ms: 1_000, backoff_max_ms: 60_000, failed_after: 2, breaker_threshold: 3, breaker_open_ms: 60_000, max_sample_age_ms: 86_400_000, max_sample_future_ms: 300_000 },
  );
  return { running, got, clock, calls: () => calls };
}

describe('RunningInput', () => {
  it('passes on each interval once, whatever order the feed lists its repeated history in', async () => {
    const { running, got } = harness([async () => [s(40_000), s(20_000), s(0)], async () => [s(60_000), s(40_000), s(20_000)]]);
    await running.pollOnce();
    await running.pollOnce();
    expect(got.map((batch) => batch.map((x) => x.start_ms - T0))).toEqual([[40_000, 20_000, 0], [60_000]]);
    expect(running.snapshot()).toMatchObject({ state: 'ok', samples_total: 4, last_error: null });
  });

  it('reports degraded, then failed, with the last error, and recovers', async () => {
    const boom = async (): Promise<Sample[]> => {
      throw new Error('connection refused');
    };
    const { running } = harness([boom, boom, async () => [s(0)]]);
    await running.pollOnce();
    expect(running.snapshot()).toMatchObject({ state: 'degraded', last_error: 'connection refused' });
    await running.pollOnce();
    expect(running.snapshot()).toMatchObject({ state: 'failed' });
    await running.pollOnce();
    expect(running.snapshot()).toMatchObject({ state: 'ok', last_error: null });
  });

  it('opens its breaker after repeated failures, skips reads while open, closes after a good trial, and counts each transition', async () => {
    const boom = async (): Promise<Sample[]> => {
      throw new Error('no answer');
    };
    const { running, clock, calls } = harness([boom, boom, boom, boom, async () => [s(0)]]);
    for (let n = 0; n < 3; n++) await running.pollOnce();
    expect(running.snapshot().breaker).toBe('open');
    await running.pollOnce(); // skipped: the breaker is open
    expect(calls()).toBe(3);
    clock.advance(60_000);
    expect(running.snapshot().breaker).toBe('half_open');
    await running.pollOnce(); // the trial fails: open again
    expect([calls(), running.snapshot().breaker]).toEqual([4, 'open']);
    clock.advance(60_000);
    await running.pollOnce(); // the trial succeeds: closed
    expect([calls(), running.snapshot().breaker, running.snapshot().state]).toEqual([5, 'closed', 'ok']);
    // Every transition is counted, for the heartbeat and the fleet's metrics: opened, re-opened by the failed
    // trial; two trials; closed once.
    expect(running.snapshot().breaker_transitions).toEqual({ open: 2, half_open: 2, closed: 1 });
  });

  it('passes on a sample listed twice in one document once, and drops samples stamped far from now', async () => {
    const { running, got } = harness([async () => [s(0), s(0), s(-30 * 86_400_000), s(3_600_000)]]);
    await running.pollOnce();
    expect(got).toEqual([[s(0)]]);
    expect(running.snapshot().dropped_total).toBe(2);
  });
});
