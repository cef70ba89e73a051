import { describe, expect, it } from 'vitest';
import { heldClock, ManualClock } from './clock.ts';

describe('heldClock', () => {
  it('runs with its inner clock until the limit, stands still there, and runs on without a jump', () => {
    const inner = new ManualClock(1_000);
    let limit = 5_000;
    const clock = heldClock(inner, () => limit);
    inner.advance(3_000);
    expect(clock.now()).toBe(4_000);
    inner.advance(3_000);
    expect(clock.now()).toBe(5_000); // held
    inner.advance(10_000);
    expect(clock.now()).toBe(5_000);
    limit = Infinity;
    inner.advance(500);
    expect(clock.now()).toBe(5_500); // on from where it stood, not from the inner clock's 17,500
    limit = 0;
    expect(clock.now()).toBe(5_500); // never backwards
  });

  it('fires timers by its own time: late while held, never early', () => {
    const inner = new ManualClock(0);
    let limit = 2_000;
    const clock = heldClock(inner, () => limit);
    const fired: number[] = [];
    clock.after(3_000, () => fired.push(clock.now()));
    inner.advance(10_000);
    expect(fired).toEqual([]);
    limit = Infinity;
    inner.advance(999);
    expect(fired).toEqual([]);
    inner.advance(1_000);
    expect(fired).toEqual([3_000]);
  });

  it('repeats every period of its own time, and cancels', () => {
    const inner = new ManualClock(0);
    let limit = 1_500;
    const clock = heldClock(inner, () => limit);
    const ticks: number[] = [];
    const cancel = clock.every(1_000, () => ticks.push(clock.now()));
    inner.advance(5_000);
    expect(ticks).toEqual([1_000]);
    limit = Infinity;
    inner.advance(2_100);
    expect(ticks).toEqual([1_000, 2_000, 3_000]);
    cancel();
    inner.advance(5_000);
    expect(ticks).toHaveLength(3);
  });
});
